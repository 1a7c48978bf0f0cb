using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;

namespace SandboxPS.Core;

/// <summary>
/// Builds the labels every managed resource carries (DESIGN.md "Labels and cleanup") and the ids and
/// names providers hand out.
/// </summary>
public static class SandboxLabelBuilder
{
    /// <summary>The SandboxPS version stamped into <c>sandboxps.version</c>.</summary>
    public static string ToolVersion { get; } =
        typeof(SandboxLabelBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(SandboxLabelBuilder).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary><c>host/pid</c> of this process, the value of <c>sandboxps.owner</c>.</summary>
    public static string Owner { get; } = $"{System.Environment.MachineName}/{System.Environment.ProcessId}";

    /// <summary>
    /// Our labels plus the user's: <c>sandboxps.managed=true</c>, <c>.id</c>, <c>.name</c>, <c>.created</c>,
    /// <c>.owner</c>, <c>.version</c>, <c>.expires</c> (when <paramref name="expiresAt"/> is set) and
    /// <c>.runtime</c> (when <paramref name="runtime"/> is set). User labels cannot override ours.
    /// </summary>
    public static Dictionary<string, string> Build(string id, string name, DateTimeOffset createdAt, DateTimeOffset? expiresAt,
                                                   IEnumerable<KeyValuePair<string, string>>? userLabels, string? runtime = null)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (userLabels is not null)
        {
            foreach (var (key, value) in userLabels)
            {
                if (!key.StartsWith(SandboxLabels.Prefix, StringComparison.OrdinalIgnoreCase))
                {
                    labels[key] = value;
                }
            }
        }
        labels[SandboxLabels.Managed] = "true";
        labels[SandboxLabels.Id] = id;
        labels[SandboxLabels.Name] = name;
        labels[SandboxLabels.Created] = FormatTime(createdAt);
        labels[SandboxLabels.Owner] = Owner;
        labels[SandboxLabels.Version] = ToolVersion;
        if (expiresAt is { } expires)
        {
            labels[SandboxLabels.Expires] = FormatTime(expires);
        }
        if (!string.IsNullOrEmpty(runtime))
        {
            labels[SandboxLabels.Runtime] = runtime;
        }
        return labels;
    }

    /// <summary>ISO 8601 UTC with seconds (<c>2026-01-02T03:04:05Z</c>), as labels store times.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Reads a time written by <see cref="FormatTime"/>; null when absent or unreadable.</summary>
    public static DateTimeOffset? ParseTime(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t : null;

    /// <summary>A new random sandbox id: 16 lowercase hex characters.</summary>
    public static string NewId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();

    /// <summary>The generated name for an id: <c>sbx-</c> and its first 8 characters.</summary>
    public static string DefaultName(string id) => "sbx-" + id[..Math.Min(8, id.Length)];

    /// <summary>True when every key of <paramref name="filter"/> is in <paramref name="labels"/> with the same value.</summary>
    public static bool Matches(IReadOnlyDictionary<string, string> labels, IReadOnlyDictionary<string, string>? filter)
    {
        if (filter is null)
        {
            return true;
        }
        foreach (var (key, value) in filter)
        {
            if (!labels.TryGetValue(key, out var actual) || !string.Equals(actual, value, StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A new bearer token: 32 random bytes, base64url without padding.</summary>
    public static string NewToken() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
