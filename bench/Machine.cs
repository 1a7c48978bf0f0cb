using System.Globalization;
using System.Runtime.InteropServices;

namespace SandboxPS.Bench;

/// <summary>What the numbers were measured on: they mean little without it.</summary>
internal static class Machine
{
    public static async Task DescribeAsync(BenchContext context, CancellationToken ct)
    {
        var r = context.Results;
        r.SetText("date_utc", DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
        r.SetText("mode", context.Options.Quick ? "quick" : "full");
        r.Set("cores", Environment.ProcessorCount, 0);
        r.SetText("cpu", ReadCpuModel());
        r.Set("memory_gib", ReadMemTotalGiB(), 1);
        r.SetText("kernel", Read("/proc/sys/kernel/osrelease"));
        r.SetText("dotnet", RuntimeInformation.FrameworkDescription);
        var docker = await context.Engine.PingAsync(ct).ConfigureAwait(false);
        r.SetText("docker", docker ? await context.Engine.GetVersionAsync(ct).ConfigureAwait(false) : "unreachable");
        if (!docker)
        {
            r.Errors.Add($"docker: the engine does not answer on {context.Engine.SocketPath}; Docker metrics and baselines are missing");
        }
    }

    private static string ReadCpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown" : line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static double ReadMemTotalGiB()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kb = long.Parse(line["MemTotal:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            return kb / 1024.0 / 1024.0;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
