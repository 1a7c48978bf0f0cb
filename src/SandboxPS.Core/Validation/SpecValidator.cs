using System.Globalization;
using System.Text.RegularExpressions;

namespace SandboxPS.Core;

/// <summary>
/// The one check of a <see cref="SandboxSpec"/>, before anything is created: every bound is here, once. Messages
/// and recommended actions name the caller's parameters (<see cref="SpecNames"/>: <c>-TimeToLive</c> for
/// PowerShell, <c>--ttl</c> for the CLI), so each front end shows them as they are.
/// </summary>
public static partial class SpecValidator
{
    /// <summary>The naming rule for sandboxes: letters, digits, '-', '_', '.'; starts with a letter or digit; 1–63 characters.</summary>
    public const string NamePattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$";

    /// <summary>The largest CPU limit accepted, in cores.</summary>
    public const double MaxCpus = 1024;

    /// <summary>The largest session limit accepted.</summary>
    public const int MaxSessionLimit = 1024;

    [GeneratedRegex(NamePattern, RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9_./-]{0,252})$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelKeyRegex();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,255}$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvKeyRegex();

    /// <summary>Validates every field of <paramref name="spec"/> against the common rules and <paramref name="rules"/>.</summary>
    /// <param name="spec">What to create.</param>
    /// <param name="rules">The provider's rules (<see cref="SandboxSpecRules.For"/>).</param>
    /// <param name="names">The caller's parameter names; <see cref="SpecNames.Spec"/> when null.</param>
    /// <exception cref="SandboxException">InvalidArgument with a specific error id (see <see cref="SandboxErrorIds"/>), naming the parameter.</exception>
    public static void Validate(SandboxSpec spec, SandboxSpecRules rules, SpecNames? names = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(rules);
        names ??= SpecNames.Spec;
        if (spec.Name is not null)
        {
            ValidateName(spec.Name, names);
        }
        ValidateImage(spec, rules, names);
        ValidateLabels(spec.Labels, names);
        ValidateEnvironment(spec.Environment, names);
        foreach (var reserved in rules.ReservedEnvironment.Where(spec.Environment.ContainsKey))
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.Environment,
                $"Environment variable '{reserved}' is reserved for the sandbox server's token.", "Use another name.");
        }
        ValidateDurations(spec, names);
        ValidateLimits(spec, rules, names);
        ValidatePaths(spec, rules, names);
        RejectUnsupported(spec, rules, names);
        ValidateProviderOptions(spec.ProviderOptions, rules, names);
    }

    /// <summary>The common rules and the provider's known option keys, named as the CLI names them.</summary>
    /// <exception cref="SandboxException">InvalidArgument with a specific error id.</exception>
    public static void Validate(SandboxSpec spec, string provider, IReadOnlyCollection<string>? knownProviderOptions = null) =>
        Validate(spec, new SandboxSpecRules { Provider = provider, KnownOptions = knownProviderOptions ?? [] }, SpecNames.Cli);

    /// <summary>Checks a sandbox name against <see cref="NamePattern"/>.</summary>
    /// <exception cref="SandboxException">InvalidArgument / <c>InvalidSandboxName</c>.</exception>
    public static void ValidateName(string name, SpecNames? names = null)
    {
        if (name is null || !NameRegex().IsMatch(name))
        {
            var parameter = (names ?? SpecNames.Cli).Name;
            throw Invalid(SandboxErrorIds.InvalidSandboxName, parameter,
                $"{parameter}: '{name}' is not a valid sandbox name: use 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit.",
                "Pick a name like 'build-1' or 'agent_a'.");
        }
    }

    /// <summary>Checks user labels: keys are 1–253 of letters, digits, '.', '_', '/', '-'; never the reserved <c>sandboxps.</c> prefix.</summary>
    /// <exception cref="SandboxException">InvalidArgument / <c>InvalidLabel</c>.</exception>
    public static void ValidateLabels(IEnumerable<KeyValuePair<string, string>>? labels, SpecNames? names = null)
    {
        var parameter = (names ?? SpecNames.Cli).Labels;
        foreach (var (key, value) in labels ?? [])
        {
            if (key is null || !LabelKeyRegex().IsMatch(key))
            {
                throw Invalid(SandboxErrorIds.InvalidLabel, parameter,
                    $"{parameter}: label key '{key}' is invalid: use letters, digits, '.', '_', '/' or '-', starting with a letter or digit.", null);
            }
            if (key.StartsWith(SandboxLabels.Prefix, StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid(SandboxErrorIds.InvalidLabel, parameter,
                    $"{parameter}: label key '{key}' uses the reserved prefix '{SandboxLabels.Prefix}', which SandboxPS sets itself.",
                    $"Use your own prefix, e.g. a key like 'team.owner', in {parameter}.");
            }
            if (value is null || value.Length > 4096 || value.Contains('\0') || value.Contains('\n'))
            {
                throw Invalid(SandboxErrorIds.InvalidLabel, parameter,
                    $"{parameter}: label '{key}' has an invalid value: at most 4096 characters, no line breaks.", null);
            }
        }
    }

    /// <summary>Checks environment variable names (POSIX: letters, digits, '_', not starting with a digit) and values (no NUL).</summary>
    /// <exception cref="SandboxException">InvalidArgument / <c>InvalidEnvironmentVariable</c>.</exception>
    public static void ValidateEnvironment(IEnumerable<KeyValuePair<string, string>>? environment, SpecNames? names = null)
    {
        var parameter = (names ?? SpecNames.Cli).Environment;
        foreach (var (key, value) in environment ?? [])
        {
            if (key is null || !EnvKeyRegex().IsMatch(key))
            {
                throw Invalid(SandboxErrorIds.InvalidEnvironmentVariable, parameter,
                    $"{parameter}: variable name '{Printable(key ?? "")}' is invalid: use letters, digits and '_', not starting with a digit.", null);
            }
            if (value is null || value.Contains('\0'))
            {
                throw Invalid(SandboxErrorIds.InvalidEnvironmentVariable, parameter,
                    $"{parameter}: variable '{key}' has an invalid value (null or a NUL character).", null);
            }
        }
    }

    /// <summary>
    /// Throws <c>ProviderOptionNotSupported</c> when a field of <paramref name="spec"/> is set that
    /// <paramref name="provider"/> cannot honour, named as the CLI names it. <paramref name="unsupported"/> names the
    /// fields (<c>Cpus</c>, <c>MemoryBytes</c>, <c>PidsLimit</c>, <c>NetworkMode</c>, <c>ReadOnlyRootFilesystem</c>,
    /// <c>User</c>, <c>Image</c>, <c>Runtime</c>).
    /// </summary>
    public static void RejectUnsupported(SandboxSpec spec, string provider, string why, params string[] unsupported) =>
        RejectUnsupported(spec, new SandboxSpecRules { Provider = provider, Unsupported = unsupported, UnsupportedReason = why }, SpecNames.Cli);

    /// <summary>Splits <c>KEY=VALUE</c> (the value may be empty and may contain '=').</summary>
    /// <exception cref="SandboxException">InvalidArgument naming <paramref name="parameterName"/> when there is no '=' or no key.</exception>
    public static KeyValuePair<string, string> ParseKeyValue(string text, string parameterName)
    {
        int eq = text?.IndexOf('=', StringComparison.Ordinal) ?? -1;
        if (text is null || eq <= 0)
        {
            var id = parameterName == "--env" ? SandboxErrorIds.InvalidEnvironmentVariable
                   : parameterName == "--label" ? SandboxErrorIds.InvalidLabel : SandboxErrorIds.InvalidSpec;
            throw Invalid(id, parameterName, $"{parameterName}: '{text}' is not KEY=VALUE.", $"Pass {parameterName} KEY=VALUE.");
        }
        return new KeyValuePair<string, string>(text[..eq], text[(eq + 1)..]);
    }

    private static void ValidateImage(SandboxSpec spec, SandboxSpecRules rules, SpecNames names)
    {
        if (spec.Image is not null && spec.Runtime is not null)
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, $"{names.Image}/{names.Runtime}",
                $"{names.Image} and {names.Runtime} exclude each other: a runtime names its own image.",
                $"Pass {names.Image} to run an existing image, or {names.Runtime} to run (and build if needed) a runtime.");
        }
        if (spec.Image is { } image && (string.IsNullOrWhiteSpace(image) || image.Any(char.IsWhiteSpace) || image.Any(char.IsControl)))
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.Image,
                image.Trim().Length == 0 ? $"{names.Image} is empty." : $"{names.Image} '{Printable(image)}' contains whitespace or control characters.",
                $"Pass {names.Image} with an image reference such as sandboxps/busybox:1.35.");
        }
        if (spec.Runtime is { } runtime && string.IsNullOrWhiteSpace(runtime))
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.Runtime, $"{names.Runtime} is empty.", $"Pass {names.Runtime} with a runtime name or file.");
        }
        if (rules.RequiresImageOrRuntime && spec.Image is null && spec.Runtime is null)
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.Image, $"The {rules.Provider} provider needs an image or a runtime.",
                $"Pass {names.Image} IMAGE or {names.Runtime} NAME|FILE.");
        }
    }

    private static void ValidateDurations(SandboxSpec spec, SpecNames names)
    {
        if (spec.TimeToLive is { } ttl && ttl <= TimeSpan.Zero)
        {
            throw Invalid(SandboxErrorIds.InvalidDuration, names.TimeToLive, $"{names.TimeToLive} must be positive, got {ttl}.",
                $"Pass {names.TimeToLive} like 10m or 2h.");
        }
        if (spec.IdleTimeout is { } idle && idle <= TimeSpan.Zero)
        {
            throw Invalid(SandboxErrorIds.InvalidDuration, names.IdleTimeout, $"{names.IdleTimeout} must be positive, got {idle}.",
                $"Pass {names.IdleTimeout} like 5m.");
        }
    }

    private static void ValidateLimits(SandboxSpec spec, SandboxSpecRules rules, SpecNames names)
    {
        if (spec.Cpus is { } cpus && (!double.IsFinite(cpus) || cpus <= 0 || cpus > MaxCpus))
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.Cpus,
                $"{names.Cpus} must be a positive number of cores up to {MaxCpus.ToString(CultureInfo.InvariantCulture)}, got {cpus.ToString(CultureInfo.InvariantCulture)}.",
                $"Pass {names.Cpus} 0.5, 1 or 2.");
        }
        if (spec.MemoryBytes is { } memory && memory <= 0)
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.MemoryBytes, $"{names.MemoryBytes} must be positive, got {memory} bytes.",
                $"Pass {names.MemoryBytes} like 512m or 2g.");
        }
        if (spec.MemoryBytes is { } small && rules.MinimumMemoryBytes is { } floor && small < floor)
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.MemoryBytes,
                $"{names.MemoryBytes}: {small} bytes is below the {rules.Provider} provider's minimum of {floor / (1024 * 1024)} MiB.",
                $"Pass {names.MemoryBytes} like 256m.");
        }
        if (spec.PidsLimit is { } pids && pids <= 0)
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.PidsLimit, $"{names.PidsLimit} must be positive, got {pids}.", null);
        }
        if (spec.MaxSessions is { } max && (max < 1 || max > MaxSessionLimit))
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.MaxSessions, $"{names.MaxSessions} must be between 1 and {MaxSessionLimit}, got {max}.", null);
        }
    }

    private static void ValidatePaths(SandboxSpec spec, SandboxSpecRules rules, SpecNames names)
    {
        if (spec.WorkingDirectory is { } wd && (wd.Length == 0 || wd.Any(char.IsControl)
                                                || (rules.ContainerPaths && !wd.StartsWith('/'))))
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.WorkingDirectory,
                wd.Length == 0 ? $"{names.WorkingDirectory} is empty."
                : rules.ContainerPaths ? $"{names.WorkingDirectory} '{Printable(wd)}' must be an absolute path inside the container."
                : $"{names.WorkingDirectory} '{Printable(wd)}' contains control characters.",
                $"Pass {names.WorkingDirectory} with a directory path such as /work, or leave it out.");
        }
        if (!rules.ContainerPaths)
        {
            return;
        }
        if (spec.User is { } user && (user.Length == 0 || user.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.User, $"{names.User} '{Printable(user)}' is not valid.",
                $"Pass {names.User} with a name, uid or uid:gid, e.g. 1000:1000.");
        }
        if (spec.NetworkMode is { } network && (network.Length == 0 || network.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, names.NetworkMode, $"{names.NetworkMode} '{Printable(network)}' is not valid.",
                $"Pass {names.NetworkMode} with bridge, none, host or a network name.");
        }
    }

    private static void RejectUnsupported(SandboxSpec spec, SandboxSpecRules rules, SpecNames names)
    {
        foreach (var field in rules.Unsupported)
        {
            var isSet = field switch
            {
                nameof(SandboxSpec.Cpus) => spec.Cpus is not null,
                nameof(SandboxSpec.MemoryBytes) => spec.MemoryBytes is not null,
                nameof(SandboxSpec.PidsLimit) => spec.PidsLimit is not null,
                nameof(SandboxSpec.NetworkMode) => spec.NetworkMode is not null,
                nameof(SandboxSpec.ReadOnlyRootFilesystem) => spec.ReadOnlyRootFilesystem,
                nameof(SandboxSpec.User) => spec.User is not null,
                nameof(SandboxSpec.Image) => spec.Image is not null,
                nameof(SandboxSpec.Runtime) => spec.Runtime is not null,
                _ => throw new ArgumentOutOfRangeException(nameof(rules), field, "unknown or always-supported SandboxSpec field"),
            };
            if (isSet)
            {
                var option = names.Of(field);
                throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.ProviderOptionNotSupported,
                    $"The {rules.Provider} provider cannot honour {option} ({field}): {rules.UnsupportedReason}", option)
                {
                    RecommendedAction = $"Leave out {option}, or use a provider that supports it (e.g. {names.Provider} docker).",
                };
            }
        }
    }

    private static void ValidateProviderOptions(IEnumerable<KeyValuePair<string, string>> options, SandboxSpecRules rules, SpecNames names)
    {
        foreach (var (key, value) in options)
        {
            if (rules.KnownOptions is { } known && !known.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                var valid = known.Count == 0 ? "none" : string.Join(", ", known.Order(StringComparer.Ordinal));
                throw Invalid(SandboxErrorIds.InvalidProviderOption, names.ProviderOptions,
                    $"{names.ProviderOptions}: the {rules.Provider} provider has no option '{key}'. Valid options: {valid}.", null);
            }
            if (rules.OptionValues.TryGetValue(key, out var rule)
                && !rule.Values.Contains(value?.Trim() ?? "", StringComparer.OrdinalIgnoreCase))
            {
                throw Invalid(SandboxErrorIds.InvalidProviderOption, key,
                    $"Option '{key}' must be {rule.Meaning}, not '{Printable(value ?? "")}'.",
                    $"Pass e.g. {names.OptionExample(key, rule.Values.First())}, or leave the option out.");
            }
        }
    }

    private static string Printable(string text) => text.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);

    private static SandboxException Invalid(string errorId, string parameter, string message, string? action) =>
        new(SandboxErrorKind.InvalidArgument, errorId, message, parameter) { RecommendedAction = action };
}
