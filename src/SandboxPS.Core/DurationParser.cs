using System.Globalization;

namespace SandboxPS.Core;

/// <summary>
/// Reads durations as users type them: <c>90s</c>, <c>10m</c>, <c>2h</c>, <c>1h30m</c>, <c>1d</c>,
/// <c>500ms</c>, or plain seconds (<c>45</c>, <c>1.5</c>). Always positive.
/// </summary>
public static class DurationParser
{
    /// <summary>Parses <paramref name="text"/>; the error names <paramref name="parameterName"/>.</summary>
    /// <exception cref="SandboxException">InvalidArgument / <c>InvalidDuration</c> for anything else, zero or negative.</exception>
    public static TimeSpan Parse(string? text, string parameterName)
    {
        if (TryParse(text, out var value))
        {
            return value;
        }
        throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidDuration,
            $"{parameterName}: '{text}' is not a valid duration. Use a positive number of seconds (45) or units s, m, h, d (90s, 10m, 2h, 1h30m).",
            parameterName)
        {
            RecommendedAction = $"Pass {parameterName} like 90s, 10m, 2h or 1h30m.",
        };
    }

    /// <summary>Parses without throwing; false for invalid, zero or negative durations.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var s = text.Trim().ToLowerInvariant();
        if (double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var plainSeconds))
        {
            return Positive(plainSeconds * 1000, out value);
        }

        double totalMs = 0;
        int i = 0;
        bool any = false;
        string? lastUnit = null;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }
            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }
            int unitStart = i;
            while (i < s.Length && char.IsAsciiLetter(s[i]))
            {
                i++;
            }
            var unit = s[unitStart..i];
            double factor = unit switch
            {
                "ms" => 1,
                "s" or "sec" or "secs" => 1000,
                "m" or "min" or "mins" => 60_000,
                "h" or "hr" or "hrs" => 3_600_000,
                "d" => 86_400_000,
                _ => double.NaN,
            };
            if (double.IsNaN(factor) || unit == lastUnit)
            {
                return false;
            }
            lastUnit = unit;
            totalMs += number * factor;
            any = true;
        }
        return any && Positive(totalMs, out value);
    }

    private static bool Positive(double ms, out TimeSpan value)
    {
        value = default;
        if (double.IsNaN(ms) || double.IsInfinity(ms) || ms <= 0 || ms > TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            return false;
        }
        value = TimeSpan.FromMilliseconds(ms);
        return true;
    }

    /// <summary>Formats a duration the way <see cref="Parse"/> reads it (<c>1h30m</c>, <c>90s</c> stays <c>1m30s</c>).</summary>
    public static string Format(TimeSpan value)
    {
        if (value < TimeSpan.FromSeconds(1))
        {
            return ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";
        }
        var parts = new System.Text.StringBuilder();
        if (value.Days > 0) parts.Append(CultureInfo.InvariantCulture, $"{value.Days}d");
        if (value.Hours > 0) parts.Append(CultureInfo.InvariantCulture, $"{value.Hours}h");
        if (value.Minutes > 0) parts.Append(CultureInfo.InvariantCulture, $"{value.Minutes}m");
        if (value.Seconds > 0 || parts.Length == 0) parts.Append(CultureInfo.InvariantCulture, $"{value.Seconds}s");
        return parts.ToString();
    }
}
