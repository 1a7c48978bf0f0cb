using System.Globalization;
using System.Text.RegularExpressions;

namespace SandboxPS.Core;

/// <summary>
/// Checks a <see cref="SandboxSpec"/> before anything is created, so a typo fails at once with a
/// message that names the parameter, what was wrong and what to do.
/// </summary>
public static partial class SpecValidator
{
    /// <summary>The naming rule for sandboxes: letters, digits, '-', '_', '.'; starts with a letter or digit; 1–63 characters.</summary>
    public const string NamePattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$";

    [GeneratedRegex(NamePattern, RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9_./-]{0,252})$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelKeyRegex();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,255}$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvKeyRegex();

    /// <summary>
    /// Validates every field of <paramref name="spec"/>. <paramref name="knownProviderOptions"/> lists the
    /// provider-specific option keys the provider understands; any other key is rejected.
    /// </summary>
    /// <exception cref="SandboxException">InvalidArgument with a specific error id (see <see cref="SandboxErrorIds"/>).</exception>
    public static void Validate(SandboxSpec spec, string provider, IReadOnlyCollection<string>? knownProviderOptions = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Name is not null)
        {
            ValidateName(spec.Name);
        }
        if (!string.IsNullOrEmpty(spec.Image) && !string.IsNullOrEmpty(spec.Runtime))
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, "--image/--runtime",
                "Image and Runtime exclude each other: a runtime names its own image.", "Pass either --image or --runtime, not both.");
        }
        ValidateLabels(spec.Labels);
        ValidateEnvironment(spec.Environment);
        if (spec.TimeToLive is { } ttl && ttl <= TimeSpan.Zero)
        {
            throw Invalid(SandboxErrorIds.InvalidDuration, "--ttl", $"TimeToLive must be positive, got {ttl}.", "Pass --ttl like 10m or 2h.");
        }
        if (spec.IdleTimeout is { } idle && idle <= TimeSpan.Zero)
        {
            throw Invalid(SandboxErrorIds.InvalidDuration, "--idle-timeout", $"IdleTimeout must be positive, got {idle}.", "Pass --idle-timeout like 5m.");
        }
        if (spec.Cpus is { } cpus && (cpus <= 0 || double.IsNaN(cpus) || cpus > 1024))
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, "--cpus", $"Cpus must be a positive number of cores (e.g. 0.5 or 2), got {cpus.ToString(CultureInfo.InvariantCulture)}.", null);
        }
        if (spec.MemoryBytes is { } mem && mem <= 0)
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, "--memory", $"MemoryBytes must be positive, got {mem}.", "Pass --memory like 512m or 2g.");
        }
        if (spec.PidsLimit is { } pids && pids <= 0)
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, "--pids-limit", $"PidsLimit must be positive, got {pids}.", null);
        }
        if (spec.MaxSessions is { } max && (max < 1 || max > 1024))
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, "--max-sessions", $"MaxSessions must be between 1 and 1024, got {max}.", null);
        }
        if (spec.WorkingDirectory is { Length: 0 })
        {
            throw Invalid(SandboxErrorIds.InvalidSpec, "--workdir", "WorkingDirectory is empty.", "Pass a directory path or leave it out.");
        }
        ValidateProviderOptions(spec.ProviderOptions, provider, knownProviderOptions ?? Array.Empty<string>());
    }

    /// <summary>Checks a sandbox name against <see cref="NamePattern"/>.</summary>
    /// <exception cref="SandboxException">InvalidArgument / <c>InvalidSandboxName</c>.</exception>
    public static void ValidateName(string name)
    {
        if (name is null || !NameRegex().IsMatch(name))
        {
            throw Invalid(SandboxErrorIds.InvalidSandboxName, "--name",
                $"'{name}' is not a valid sandbox name: use 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit.",
                "Pick a name like 'build-1' or 'agent_a'.");
        }
    }

    /// <summary>Checks user labels: keys are 1–253 of letters, digits, '.', '_', '/', '-'; never the reserved <c>sandboxps.</c> prefix.</summary>
    /// <exception cref="SandboxException">InvalidArgument / <c>InvalidLabel</c>.</exception>
    public static void ValidateLabels(IEnumerable<KeyValuePair<string, string>>? labels)
    {
        if (labels is null)
        {
            return;
        }
        foreach (var (key, value) in labels)
        {
            if (key is null || !LabelKeyRegex().IsMatch(key))
            {
                throw Invalid(SandboxErrorIds.InvalidLabel, "--label",
                    $"Label key '{key}' is invalid: use letters, digits, '.', '_', '/' or '-', starting with a letter or digit.", null);
            }
            if (key.StartsWith(SandboxLabels.Prefix, StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid(SandboxErrorIds.InvalidLabel, "--label",
                    $"Label key '{key}' uses the reserved prefix '{SandboxLabels.Prefix}', which SandboxPS sets itself.",
                    "Use your own prefix, e.g. 'team.owner=me'.");
            }
            if (value is null || value.Length > 4096 || value.Contains('\0') || value.Contains('\n'))
            {
                throw Invalid(SandboxErrorIds.InvalidLabel, "--label",
                    $"Label '{key}' has an invalid value: at most 4096 characters, no line breaks.", null);
            }
        }
    }

    /// <summary>Checks environment variable names (POSIX: letters, digits, '_', not starting with a digit) and values (no NUL).</summary>
    /// <exception cref="SandboxException">InvalidArgument / <c>InvalidEnvironmentVariable</c>.</exception>
    public static void ValidateEnvironment(IEnumerable<KeyValuePair<string, string>>? environment)
    {
        if (environment is null)
        {
            return;
        }
        foreach (var (key, value) in environment)
        {
            if (key is null || !EnvKeyRegex().IsMatch(key))
            {
                throw Invalid(SandboxErrorIds.InvalidEnvironmentVariable, "--env",
                    $"Environment variable name '{key}' is invalid: use letters, digits and '_', not starting with a digit.", null);
            }
            if (value is null || value.Contains('\0'))
            {
                throw Invalid(SandboxErrorIds.InvalidEnvironmentVariable, "--env",
                    $"Environment variable '{key}' has an invalid value (null or a NUL character).", null);
            }
        }
    }

    /// <summary>Rejects provider options the provider does not know, listing the ones it does.</summary>
    /// <exception cref="SandboxException">InvalidArgument / <c>InvalidProviderOption</c>.</exception>
    public static void ValidateProviderOptions(IEnumerable<KeyValuePair<string, string>>? options, string provider,
                                               IReadOnlyCollection<string> known)
    {
        if (options is null)
        {
            return;
        }
        foreach (var (key, _) in options)
        {
            if (!known.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                var valid = known.Count == 0 ? "none" : string.Join(", ", known.Order(StringComparer.Ordinal));
                throw Invalid(SandboxErrorIds.InvalidProviderOption, "--provider-option",
                    $"The {provider} provider has no option '{key}'. Valid options: {valid}.", null);
            }
        }
    }

    /// <summary>
    /// Throws <c>ProviderOptionNotSupported</c> when a field of <paramref name="spec"/> is set that
    /// <paramref name="provider"/> cannot honour. <paramref name="unsupported"/> names the fields
    /// (<c>Cpus</c>, <c>MemoryBytes</c>, <c>PidsLimit</c>, <c>NetworkMode</c>, <c>ReadOnlyRootFilesystem</c>,
    /// <c>User</c>, <c>Image</c>, <c>Runtime</c>).
    /// </summary>
    public static void RejectUnsupported(SandboxSpec spec, string provider, string why, params string[] unsupported)
    {
        foreach (var field in unsupported)
        {
            var (isSet, option) = field switch
            {
                nameof(SandboxSpec.Cpus) => (spec.Cpus is not null, "--cpus"),
                nameof(SandboxSpec.MemoryBytes) => (spec.MemoryBytes is not null, "--memory"),
                nameof(SandboxSpec.PidsLimit) => (spec.PidsLimit is not null, "--pids-limit"),
                nameof(SandboxSpec.NetworkMode) => (spec.NetworkMode is not null, "--network"),
                nameof(SandboxSpec.ReadOnlyRootFilesystem) => (spec.ReadOnlyRootFilesystem, "--read-only"),
                nameof(SandboxSpec.User) => (spec.User is not null, "--user"),
                nameof(SandboxSpec.Image) => (spec.Image is not null, "--image"),
                nameof(SandboxSpec.Runtime) => (spec.Runtime is not null, "--runtime"),
                _ => throw new ArgumentOutOfRangeException(nameof(unsupported), field, "unknown SandboxSpec field"),
            };
            if (isSet)
            {
                throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.ProviderOptionNotSupported,
                    $"The {provider} provider cannot honour {option} ({field}): {why}", option)
                {
                    RecommendedAction = $"Leave out {option}, or use a provider that supports it (e.g. --provider docker).",
                };
            }
        }
    }

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

    private static SandboxException Invalid(string errorId, string parameter, string message, string? action) =>
        new(SandboxErrorKind.InvalidArgument, errorId, message, parameter) { RecommendedAction = action };
}
