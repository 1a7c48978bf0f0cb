using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SandboxPS.Bench;

/// <summary>Every number of one run, in the order measured; printed as a table and as the BENCH JSON line.</summary>
internal sealed class Results
{
    private readonly OrderedDictionary<string, JsonNode?> _values = new(StringComparer.Ordinal);

    public List<string> Errors { get; } = [];

    public void Set(string key, double value, int decimals = 3)
    {
        lock (_values)
        {
            _values[key] = double.IsFinite(value) ? JsonValue.Create(Math.Round(value, decimals)) : null;
        }
    }

    public void SetText(string key, string value)
    {
        lock (_values)
        {
            _values[key] = JsonValue.Create(value);
        }
    }

    /// <summary>Records <c>{name}_p50_{unit}</c>, <c>{name}_p95_{unit}</c> and <c>{name}_n</c>.</summary>
    public void SetSamples(string name, string unit, Samples samples, int decimals = 3)
    {
        Set($"{name}_p50_{unit}", samples.Median, decimals);
        Set($"{name}_p95_{unit}", samples.P95, decimals);
        Set($"{name}_n", samples.Count, 0);
    }

    public double? Get(string key)
    {
        lock (_values)
        {
            return _values.TryGetValue(key, out var node) && node is JsonValue v && v.TryGetValue(out double d) ? d : null;
        }
    }

    public void AddError(string what, Exception error)
    {
        var message = error switch
        {
            BenchException b => b.Message,
            OperationCanceledException => "timed out or cancelled",
            _ => $"{error.GetType().Name}: {error.Message}",
        };
        lock (Errors)
        {
            Errors.Add($"{what}: {message}");
        }
    }

    /// <summary>Ratios between ours and the baselines, computed once every phase has run.</summary>
    public void DeriveRatios()
    {
        Ratio("exec_speedup", "docker_exec_p50_ms", "exec_p50_ms");
        Ratio("server_exec_speedup", "docker_exec_p50_ms", "server_exec_p50_ms");
        Ratio("exec_process_speedup", "spawn_true_p50_ms", "exec_process_p50_ms");
        Ratio("ready_ratio", "ready_p50_ms", "docker_start_p50_ms");
        Ratio("fanout_ratio", "fanout20_s", "docker_fanout20_s");
        Ratio("upload_ratio", "upload_mb_s", "docker_upload_mb_s");
        Ratio("download_ratio", "download_mb_s", "docker_download_mb_s");
        Ratio("cli_exec_ratio", "cli_exec_p50_ms", "cli_exec_base_p50_ms");
        Ratio("cli_new_ratio", "cli_new_p50_ms", "cli_new_base_p50_ms");
    }

    private void Ratio(string key, string numerator, string denominator)
    {
        if (Get(numerator) is { } n && Get(denominator) is { } d && d > 0)
        {
            Set(key, n / d, 3);
        }
    }

    public string ToJson()
    {
        var obj = new JsonObject();
        lock (_values)
        {
            foreach (var (key, value) in _values)
            {
                obj[key] = value?.DeepClone();
            }
        }
        obj["errors"] = new JsonArray(Errors.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray());
        return obj.ToJsonString(new JsonSerializerOptions { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public string Format(string key, string format = "0.###")
        => Get(key) is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}

/// <summary>The human table: one row per metric, ours next to its baseline, the ratio and the target.</summary>
internal static class Report
{
    private sealed record Row(string Metric, string Ours50, string Ours95, string Baseline, string Base50, string Base95,
                              string Ratio, string Target, string Verdict);

    public static string Table(Results r)
    {
        var rows = new List<Row>
        {
            Pair(r, "exec: `true` in a shell session, ms", "exec", "ms", "docker exec via Engine API", "docker_exec", "exec_speedup", "x", ">= 30", v => v >= 30),
            Pair(r, "exec: one-shot /v1/exec `true`, ms", "server_exec", "ms", "docker exec via Engine API", "docker_exec", "server_exec_speedup", "x", "", null),
            Pair(r, "exec_process: session `true`, ms", "exec_process", "ms", "Process.Start /bin/true", "spawn_true", "exec_process_speedup", "x", "", null),
            Pair(r, "ready: docker create -> Ready, ms", "ready", "ms", "engine create+start", "docker_start", "ready_ratio", "x", "<= 1.2", v => v <= 1.2),
            Pair(r, "ready: process create -> Ready, ms", "process_ready", "ms", "", "", "", "", "", null),
            Pair(r, "cli cold: sandboxps exec NAME -- true (docker), ms", "cli_exec", "ms", "--baseline-cli", "cli_exec_base", "cli_exec_ratio", "x", "<= 1.1", v => v <= 1.1),
            Pair(r, "cli cold: sandboxps new --provider docker, ms", "cli_new", "ms", "--baseline-cli", "cli_new_base", "cli_new_ratio", "x", "<= 1.1", v => v <= 1.1),
            Single(r, "fanout20: 20 x create/ready/run/rm, s", "fanout20_s", "fanout20_p95_s", "same via Engine API", "docker_fanout20_s", "docker_fanout20_p95_s", "fanout_ratio", "x", "<= 1.2", v => v <= 1.2),
            Single(r, "parallel_sessions: 2 x `sleep 1`, s", "parallel_sessions_s", "parallel_sessions_p95_s", "ideal", "parallel_sessions_ideal_s", "", "", "", "<= 1.2", null, "parallel_sessions_s", v => v <= 1.2),
            Single(r, "upload 100 MiB, MB/s", "upload_mb_s", "", "PUT /containers/{id}/archive", "docker_upload_mb_s", "", "upload_ratio", "x", ">= 0.8", v => v >= 0.8),
            Single(r, "download 100 MiB, MB/s", "download_mb_s", "", "GET /containers/{id}/archive", "docker_download_mb_s", "", "download_ratio", "x", ">= 0.8", v => v >= 0.8),
            Single(r, "client peak RSS growth, upload, MB", "upload_client_peak_delta_mb", "", "baseline", "docker_upload_client_peak_delta_mb", "", "", "", "", null),
            Single(r, "client peak RSS growth, download, MB", "download_client_peak_delta_mb", "", "baseline", "docker_download_client_peak_delta_mb", "", "", "", "", null),
            Single(r, "server peak RSS while streaming, MB", "transfer_server_peak_rss_mb", "", "RSS before", "transfer_server_rss_before_mb", "", "", "", "", null),
            Single(r, "server RSS idle (docker), MB", "server_idle_rss_mb", "", "", "", "", "", "", "<= 15", null, "server_idle_rss_mb", v => v <= 15),
            Single(r, "server init (PID 1 reaper) RSS, MB", "server_init_rss_mb", "", "", "", "", "", "", "", null),
            Single(r, "server RSS with 50 sessions, MB", "server_rss_50_sessions_mb", "", "", "", "", "", "", "", null),
            Single(r, "server RSS idle (process), MB", "server_process_idle_rss_mb", "", "", "", "", "", "", "", null),
            Single(r, "server RSS with 200 sessions, MB", "server_rss_200_sessions_mb", "", "", "", "", "", "", "", null),
            Single(r, "sessions_200: 200 x 10 cmds, cmds/s", "sessions_200_cmds_per_s", "", "", "", "", "", "", "", null),
            Single(r, "sessions_200: one run under load, ms", "sessions_200_run_p50_ms", "sessions_200_run_p95_ms", "", "", "", "", "", "", null),
            Single(r, "sessions_200: open 200 sessions, s", "sessions_200_open_s", "", "", "", "", "", "", "", null),
        };

        // Diagnostics (bare paths that split the costs), shown when they ran.
        (string Label, string Name, string? Versus)[] diagnostics =
        [
            ("diag: GET /health via published port, ms", "diag_health_rtt", null),
            ("diag: session `true` over unix socket, ms", "diag_exec_unix", null),
            ("diag: GET /health, process server, ms", "diag_health_rtt_process", null),
            ("diag: upload 100 MiB, unix socket, ms", "diag_upload_unix", null),
            ("diag: download 100 MiB, unix socket, ms", "diag_download_unix", null),
            ("diag: upload 100 MiB, process sandbox, ms", "diag_upload_process", null),
            ("diag: download 100 MiB, process sandbox, ms", "diag_download_process", null),
            ("diag: ready, of which CreateAsync, ms", "diag_ready_create", "docker_start"),
            ("diag: engine create+start, port published, ms", "diag_start_port", "docker_start"),
            ("diag: engine create+copy server+start, ms", "diag_start_copy", "docker_start"),
            ("diag: engine floor port+copy+/health, ms", "diag_floor_copy", "docker_start"),
            ("diag: engine floor port+bind+/health, ms", "diag_floor_bind", "docker_start"),
            ("diag: engine floor unix+bind+/health, ms", "diag_floor_unix", "docker_start"),
        ];
        foreach (var (label, name, versus) in diagnostics)
        {
            if (r.Get($"{name}_p50_ms") is not { } value)
            {
                continue;
            }
            var ratio = versus is not null && r.Get($"{versus}_p50_ms") is { } b && b > 0
                ? (value / b).ToString("0.00", CultureInfo.InvariantCulture) + "x" : "";
            rows.Add(new Row(label, r.Format($"{name}_p50_ms"), r.Format($"{name}_p95_ms"),
                             versus is null ? "" : "engine create+start", versus is null ? "" : r.Format($"{versus}_p50_ms"),
                             versus is null ? "" : r.Format($"{versus}_p95_ms"), ratio, "", ""));
        }

        var header = new Row("metric", "ours p50", "ours p95", "baseline", "base p50", "base p95", "ratio", "target", "");
        var all = new List<Row> { header };
        all.AddRange(rows);
        int W(Func<Row, string> f) => all.Max(x => f(x).Length);
        var widths = new[] { W(x => x.Metric), W(x => x.Ours50), W(x => x.Ours95), W(x => x.Baseline), W(x => x.Base50), W(x => x.Base95), W(x => x.Ratio), W(x => x.Target), W(x => x.Verdict) };
        var sb = new StringBuilder();
        foreach (var row in all)
        {
            string[] cells = [row.Metric, row.Ours50, row.Ours95, row.Baseline, row.Base50, row.Base95, row.Ratio, row.Target, row.Verdict];
            var line = new StringBuilder("| ");
            for (var i = 0; i < cells.Length; i++)
            {
                var right = i is 1 or 2 or 4 or 5 or 6;
                line.Append(right ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i])).Append(" | ");
            }
            sb.AppendLine(line.ToString().TrimEnd());
            if (ReferenceEquals(row, header))
            {
                sb.Append('|');
                for (var i = 0; i < widths.Length; i++)
                {
                    var right = i is 1 or 2 or 4 or 5 or 6;
                    sb.Append(right ? new string('-', widths[i] + 1) + ":|" : new string('-', widths[i] + 2) + "|");
                }
                sb.AppendLine();
            }
        }
        return sb.ToString();
    }

    private static Row Pair(Results r, string metric, string ours, string unit, string baseline, string baselineKey,
                            string ratioKey, string ratioUnit, string target, Func<double, bool>? pass)
        => Single(r, metric, $"{ours}_p50_{unit}", $"{ours}_p95_{unit}", baseline,
                  baselineKey.Length == 0 ? "" : $"{baselineKey}_p50_{unit}", baselineKey.Length == 0 ? "" : $"{baselineKey}_p95_{unit}",
                  ratioKey, ratioUnit, target, pass);

    private static Row Single(Results r, string metric, string ours50, string ours95, string baseline, string base50, string base95,
                              string ratioKey, string ratioUnit, string target, Func<double, bool>? pass,
                              string? verdictKey = null, Func<double, bool>? verdictPass = null)
    {
        string F(string key) => key.Length == 0 ? "" : r.Format(key, "0.###");
        var ratio = ratioKey.Length == 0 ? "" : r.Get(ratioKey) is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) + ratioUnit : "-";
        var verdict = "";
        var check = verdictKey ?? (pass is null ? null : ratioKey);
        var test = verdictPass ?? pass;
        if (check is not null && test is not null)
        {
            verdict = r.Get(check) is { } x ? (test(x) ? "met" : "MISSED") : "n/a";
        }
        return new Row(metric, F(ours50), F(ours95), baseline, F(base50), F(base95), ratio, target, verdict);
    }
}
