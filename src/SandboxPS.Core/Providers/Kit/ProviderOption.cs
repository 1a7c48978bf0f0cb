namespace SandboxPS.Core.Providers.Kit;

/// <summary>
/// A provider option with a closed set of values (<c>--provider-option KEY=VALUE</c>): each value
/// with what it means, aliases, and a default. A bad value fails with every valid one and its meaning.
/// </summary>
/// <param name="Key">The option's key (case-insensitive in <see cref="SandboxSpec.ProviderOptions"/>).</param>
/// <param name="Values">Canonical value → what it does; the first is listed first.</param>
/// <param name="Default">The value when the option is absent (one of <paramref name="Values"/>, or "" for "decided by the provider").</param>
public sealed record ProviderOption(string Key, IReadOnlyList<(string Value, string Meaning)> Values, string Default)
{
    /// <summary>Other spellings → canonical value (<c>yes</c> → <c>true</c>).</summary>
    public IReadOnlyDictionary<string, string> Aliases { get; init; } = new Dictionary<string, string>();

    /// <summary>The canonical value the spec gives (or <see cref="Default"/>), trimmed and lower-cased.</summary>
    /// <exception cref="SandboxException">InvalidArgument / <c>InvalidProviderOption</c>, listing the valid values.</exception>
    public string Read(SandboxSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!spec.ProviderOptions.TryGetValue(Key, out var raw))
        {
            return Default;
        }
        var text = raw.Trim().ToLowerInvariant();
        if (Aliases.TryGetValue(text, out var canonical))
        {
            return canonical;
        }
        foreach (var (value, _) in Values)
        {
            if (value == text)
            {
                return value;
            }
        }
        var list = string.Join(", ", Values.Select(v => $"'{v.Value}' ({v.Meaning}{(v.Value == Default ? "; the default" : "")})"));
        throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidProviderOption,
            $"Option '{Key}' must be one of {list}, not '{raw.Replace("\n", "\\n", StringComparison.Ordinal)}'.", Key)
        {
            RecommendedAction = $"Pass --provider-option {Key}={Values[0].Value}, or leave it out.",
        };
    }

    /// <summary>
    /// The option as <see cref="SpecValidator"/> checks it up front (<see cref="SandboxSpecRules.OptionValues"/>):
    /// every value and alias, with the meaning of each, so front ends and the provider accept the same values.
    /// </summary>
    public ProviderOptionRule ToRule() =>
        new([.. Values.Select(v => v.Value).Concat(Aliases.Keys)],
            string.Join(" or ", Values.Select(v => $"'{v.Value}' ({v.Meaning}{(v.Value == Default ? "; the default" : "")})")));

    /// <summary>The rules of <paramref name="options"/> by key, for <see cref="SandboxSpecRules.OptionValues"/>.</summary>
    public static IReadOnlyDictionary<string, ProviderOptionRule> Rules(params ProviderOption[] options) =>
        options.ToDictionary(o => o.Key, o => o.ToRule(), StringComparer.OrdinalIgnoreCase);
}
