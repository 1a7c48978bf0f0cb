using System.Collections;
using System.Globalization;

namespace SandboxPS.Core.Automation;

/// <summary>Converts what PowerShell binds (hashtables, numbers, strings) into core values, with errors naming the parameter.</summary>
internal static class ParameterConversion
{
    /// <summary>
    /// A hashtable (<c>@{ ci = 1 }</c>) as string pairs. Keys and values are converted with the invariant
    /// culture; a null value or an empty key is an error naming <paramref name="parameterName"/>.
    /// </summary>
    public static Dictionary<string, string> ToStringDictionary(IDictionary? table, string parameterName)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (table is null)
        {
            return result;
        }
        foreach (DictionaryEntry entry in table)
        {
            var key = Convert.ToString(Unwrap(entry.Key), CultureInfo.InvariantCulture);
            if (string.IsNullOrWhiteSpace(key))
            {
                throw Invalid(parameterName, "has an empty key", $"Give every entry of -{parameterName} a name: @{{ name = 'value' }}.");
            }
            var raw = Unwrap(entry.Value);
            if (raw is null)
            {
                throw Invalid(parameterName, $"has no value for '{key}'", $"Give '{key}' a value, or leave it out of -{parameterName}.");
            }
            var value = raw switch
            {
                bool b => b ? "true" : "false",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => raw.ToString() ?? "",
            };
            if (!result.TryAdd(key, value))
            {
                throw Invalid(parameterName, $"has the key '{key}' twice", $"Keep one '{key}' in -{parameterName}.");
            }
        }
        return result;
    }

    /// <summary>
    /// A duration from what the user typed: a TimeSpan, a number of seconds, or text the core's
    /// <see cref="DurationParser"/> reads (<c>90s</c>, <c>10m</c>, <c>1h30m</c>). PowerShell alone would turn
    /// <c>600</c> into 600 ticks; this reads it as 600 seconds.
    /// </summary>
    public static TimeSpan ToDuration(object? value, string parameterName)
    {
        var raw = Unwrap(value);
        TimeSpan result = raw switch
        {
            TimeSpan t => t,
            int or long or short or byte or uint or ulong or ushort or sbyte => TimeSpan.FromSeconds(Convert.ToDouble(raw, CultureInfo.InvariantCulture)),
            double d when double.IsFinite(d) => TimeSpan.FromSeconds(d),
            float f when float.IsFinite(f) => TimeSpan.FromSeconds(f),
            decimal m => TimeSpan.FromSeconds((double)m),
            string s => DurationParser.Parse(s, "-" + parameterName),
            null => throw Invalid(parameterName, "is empty", $"Pass -{parameterName} like 90s, 10m, 2h or a TimeSpan."),
            _ => throw Invalid(parameterName, $"cannot be a {raw.GetType().Name}", $"Pass -{parameterName} like 90s, 10m, 2h or a TimeSpan."),
        };
        return result;
    }

    /// <summary>The object inside a PowerShell wrapper, found by duck typing on <c>BaseObject</c> (no SMA reference here).</summary>
    public static object? Unwrap(object? value)
    {
        // PSObject wraps values bound from the pipeline or from a hashtable; its BaseObject is the real value.
        for (var i = 0; i < 4 && value is not null && value.GetType().FullName == "System.Management.Automation.PSObject"; i++)
        {
            var inner = value.GetType().GetProperty("BaseObject")?.GetValue(value);
            if (inner is null || ReferenceEquals(inner, value) || inner.GetType().FullName == "System.Management.Automation.PSCustomObject")
            {
                break;
            }
            value = inner;
        }
        return value;
    }

    /// <summary>An InvalidArgument error whose message and recommended action name the parameter.</summary>
    public static SandboxException Invalid(string parameterName, string problem, string? fix = null) =>
        new(SandboxErrorKind.InvalidArgument, "InvalidSandboxArgument", $"-{parameterName} {problem}.", parameterName)
        {
            RecommendedAction = fix,
        };
}
