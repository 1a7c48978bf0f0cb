using System.Diagnostics;

namespace SandboxPS.Bench;

/// <summary>Measured values of one metric (milliseconds, seconds or MB/s: the caller knows).</summary>
internal sealed class Samples
{
    private readonly List<double> _values = [];

    public int Count => _values.Count;

    /// <summary>Adds a value; safe to call from concurrent tasks.</summary>
    public void Add(double value)
    {
        lock (_values)
        {
            _values.Add(value);
        }
    }

    public double Median => Percentile(50);

    /// <summary>A copy without the first <paramref name="n"/> values (warm-up recorded by a contender itself).</summary>
    public Samples WithoutFirst(int n)
    {
        var copy = new Samples();
        lock (_values)
        {
            foreach (var v in _values.Skip(n))
            {
                copy._values.Add(v);
            }
        }
        return copy;
    }

    public double P95 => Percentile(95);

    public double Min => _values.Count == 0 ? double.NaN : _values.Min();

    public double Max => _values.Count == 0 ? double.NaN : _values.Max();

    /// <summary>Percentile by linear interpolation between closest ranks (R-7, what spreadsheets do).</summary>
    public double Percentile(double p)
    {
        if (_values.Count == 0)
        {
            return double.NaN;
        }
        double[] sorted;
        lock (_values)
        {
            sorted = _values.Order().ToArray();
        }
        var rank = p / 100.0 * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}

internal static class Measure
{
    public static double ElapsedMs(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;

    /// <summary>Times one call in milliseconds.</summary>
    public static async Task<double> TimeMsAsync(Func<CancellationToken, Task> action, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        await action(ct).ConfigureAwait(false);
        return ElapsedMs(start);
    }

    /// <summary>
    /// Runs each contender <paramref name="block"/> times per round, rotating who goes first (A B C,
    /// B C A, …) so drift on a shared machine hits all alike. <see cref="Contender.After"/> runs
    /// untimed after each timed call, also when it failed (e.g. removing what it created). The first
    /// <paramref name="warmup"/> rounds are not recorded. A contender that fails is recorded as an
    /// error under its name and leaves the rotation; the others go on.
    /// </summary>
    public static async Task RoundsAsync(Results results, int warmup, int reps, int block, CancellationToken ct,
                                         params Contender[] contenders)
    {
        var failed = new HashSet<Contender>();
        for (var round = 0; round < warmup + reps; round++)
        {
            for (var k = 0; k < contenders.Length; k++)
            {
                var contender = contenders[(round + k) % contenders.Length];
                for (var b = 0; b < block && !failed.Contains(contender); b++)
                {
                    ct.ThrowIfCancellationRequested();
                    try
                    {
                        var ms = await TimeMsAsync(contender.Run, ct).ConfigureAwait(false);
                        if (round >= warmup)
                        {
                            contender.Ms.Add(ms);
                        }
                    }
                    catch (Exception e) when (!ct.IsCancellationRequested)
                    {
                        results.AddError(contender.Name, e);
                        failed.Add(contender);
                    }
                    finally
                    {
                        if (contender.After is { } after)
                        {
                            await after(ct).ConfigureAwait(false);
                        }
                    }
                }
            }
        }
    }
}

/// <summary>One side of a comparison: a timed call, and optional untimed work after it.</summary>
internal sealed record Contender(string Name, Samples Ms, Func<CancellationToken, Task> Run, Func<CancellationToken, Task>? After = null);
