using System.Globalization;

namespace SandboxPS.Core;

/// <summary>Reads sizes as users type them: <c>512m</c>, <c>2g</c>, <c>1.5GiB</c>, <c>1048576</c> (bytes). Units are binary (k = 1024).</summary>
public static class SizeParser
{
    /// <summary>Parses <paramref name="text"/> into bytes.</summary>
    /// <exception cref="SandboxException">InvalidArgument / <c>InvalidSpec</c> naming <paramref name="parameterName"/>.</exception>
    public static long Parse(string? text, string parameterName)
    {
        var s = text?.Trim().ToLowerInvariant() ?? "";
        int i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
        {
            i++;
        }
        if (i > 0 && double.TryParse(s.AsSpan(0, i), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            double factor = s[i..] switch
            {
                "" or "b" => 1,
                "k" or "kb" or "kib" => 1L << 10,
                "m" or "mb" or "mib" => 1L << 20,
                "g" or "gb" or "gib" => 1L << 30,
                "t" or "tb" or "tib" => 1L << 40,
                _ => double.NaN,
            };
            var bytes = number * factor;
            if (!double.IsNaN(bytes) && bytes >= 1 && bytes < long.MaxValue)
            {
                return (long)bytes;
            }
        }
        throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidSpec,
            $"{parameterName}: '{text}' is not a valid size. Use bytes or a unit: 512m, 2g, 1.5g.", parameterName);
    }
}
