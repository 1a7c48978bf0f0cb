using System.Formats.Tar;
using System.Net;
using System.Net.Http.Headers;
using SandboxPS.Core;

namespace SandboxPS.Bench.Phases;

/// <summary>
/// 100 MiB into and out of the same container: SandboxClient (raw file routes of our server) against
/// the Engine API archive routes (what <c>docker cp</c> uses), with the peak memory of the client and
/// the server while the bytes stream.
/// </summary>
internal static class TransferPhase
{
    private const string OursPath = "/tmp/bench-ours.bin";
    private const string DockerDir = "/tmp";
    private const string DockerName = "bench-docker.bin";

    public static async Task RunAsync(BenchContext ctx, SandboxClient? client, string containerId, int? serverPid, CancellationToken ct)
    {
        var size = ctx.Options.TransferBytes;
        var source = await SourceFileAsync(ctx, ct).ConfigureAwait(false);
        var small = Path.Combine(ctx.TempDir, "warmup.bin");
        var target = Path.Combine(ctx.TempDir, "download.bin");
        await WriteRandomFileAsync(small, 4L * 1024 * 1024, ct).ConfigureAwait(false);
        try
        {
            var up = new Samples();
            var down = new Samples();
            var dockerUp = new Samples();
            var dockerDown = new Samples();
            long upPeak = 0, downPeak = 0, dockerUpPeak = 0, dockerDownPeak = 0, serverPeak = 0;

            // Warm-up with a small file: connections, the engine's first archive call, page cache.
            await DockerUploadAsync(ctx, containerId, small, ct).ConfigureAwait(false);
            await DockerDownloadAsync(ctx, containerId, target, 4L * 1024 * 1024, ct).ConfigureAwait(false);
            if (client is not null)
            {
                await OursUploadAsync(client, small, 4L * 1024 * 1024, ct).ConfigureAwait(false);
                await OursDownloadAsync(client, target, 4L * 1024 * 1024, ct).ConfigureAwait(false);
            }

            async Task Sampled(Func<Task> transfer, Action<RssSampler> record)
            {
                var sampler = new RssSampler(serverPid);
                try
                {
                    await transfer().ConfigureAwait(false);
                }
                finally
                {
                    await sampler.DisposeAsync().ConfigureAwait(false);
                }
                record(sampler);
            }

            var contenders = new List<Contender>
            {
                new("docker_upload", dockerUp, c => Sampled(() => DockerUploadAsync(ctx, containerId, source, c), s => dockerUpPeak = Math.Max(dockerUpPeak, s.ClientPeakDelta))),
                new("docker_download", dockerDown, c => Sampled(() => DockerDownloadAsync(ctx, containerId, target, size, c), s => dockerDownPeak = Math.Max(dockerDownPeak, s.ClientPeakDelta))),
            };
            if (client is not null)
            {
                contenders.Add(new("upload", up, c => Sampled(() => OursUploadAsync(client, source, size, c), s =>
                {
                    upPeak = Math.Max(upPeak, s.ClientPeakDelta);
                    serverPeak = Math.Max(serverPeak, s.ServerPeak);
                })));
                contenders.Add(new("download", down, c => Sampled(() => OursDownloadAsync(client, target, size, c), s =>
                {
                    downPeak = Math.Max(downPeak, s.ClientPeakDelta);
                    serverPeak = Math.Max(serverPeak, s.ServerPeak);
                })));
            }
            GC.Collect();
            if (serverPid is { } pid)
            {
                ctx.Results.Set("transfer_server_rss_before_mb", BenchContext.Mb(ProcInfo.ReadRssBytes(pid)), 1);
            }
            await Measure.RoundsAsync(ctx.Results, warmup: 0, ctx.Options.TransferReps, block: 1, ct, [.. contenders]).ConfigureAwait(false);

            var r = ctx.Results;
            double MbPerS(Samples ms) => ms.Count == 0 ? double.NaN : size / 1024.0 / 1024.0 / (ms.Median / 1000.0);
            r.Set("transfer_mib", size / 1024.0 / 1024.0, 0);
            r.Set("docker_upload_mb_s", MbPerS(dockerUp), 1);
            r.Set("docker_download_mb_s", MbPerS(dockerDown), 1);
            r.Set("docker_upload_client_peak_delta_mb", BenchContext.Mb(dockerUpPeak), 1);
            r.Set("docker_download_client_peak_delta_mb", BenchContext.Mb(dockerDownPeak), 1);
            if (client is not null)
            {
                r.Set("upload_mb_s", MbPerS(up), 1);
                r.Set("download_mb_s", MbPerS(down), 1);
                r.Set("upload_client_peak_delta_mb", BenchContext.Mb(upPeak), 1);
                r.Set("download_client_peak_delta_mb", BenchContext.Mb(downPeak), 1);
                if (serverPid is not null)
                {
                    r.Set("transfer_server_peak_rss_mb", BenchContext.Mb(serverPeak), 1);
                }
            }
            r.Set("transfer_reps", ctx.Options.TransferReps, 0);
        }
        finally
        {
            foreach (var file in new[] { small, target })
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>The 100 MiB of random bytes every transfer sends (made once per run, in the run's temp directory).</summary>
    private static async Task<string> SourceFileAsync(BenchContext ctx, CancellationToken ct)
    {
        var source = Path.Combine(ctx.TempDir, "upload.bin");
        if (!File.Exists(source) || new FileInfo(source).Length != ctx.Options.TransferBytes)
        {
            await WriteRandomFileAsync(source, ctx.Options.TransferBytes, ct).ConfigureAwait(false);
        }
        return source;
    }

    /// <summary>
    /// Diagnostic: the same upload and download through another sandbox (unix socket, or the Process
    /// provider on plain loopback), to tell transport costs from client and server costs.
    /// </summary>
    public static async Task DiagnoseAsync(BenchContext ctx, SandboxClient client, string name, CancellationToken ct)
    {
        var size = ctx.Options.TransferBytes;
        var source = await SourceFileAsync(ctx, ct).ConfigureAwait(false);
        var target = Path.Combine(ctx.TempDir, $"download-{name}.bin");
        try
        {
            var up = new Samples();
            var down = new Samples();
            await Measure.RoundsAsync(ctx.Results, warmup: 0, ctx.Options.TransferReps, block: 1, ct,
                new Contender($"diag_upload_{name}", up, c => OursUploadAsync(client, source, size, c)),
                new Contender($"diag_download_{name}", down, c => OursDownloadAsync(client, target, size, c))).ConfigureAwait(false);
            DockerSandboxPhase.SetIfAny(ctx.Results, $"diag_upload_{name}", up, 1);
            DockerSandboxPhase.SetIfAny(ctx.Results, $"diag_download_{name}", down, 1);
            if (up.Count > 0)
            {
                ctx.Results.Set($"diag_upload_{name}_mb_s", size / 1024.0 / 1024.0 / (up.Median / 1000.0), 1);
            }
            if (down.Count > 0)
            {
                ctx.Results.Set($"diag_download_{name}_mb_s", size / 1024.0 / 1024.0 / (down.Median / 1000.0), 1);
            }
        }
        finally
        {
            File.Delete(target);
        }
    }

    private static async Task OursUploadAsync(SandboxClient client, string source, long size, CancellationToken ct)
    {
        await using var file = File.OpenRead(source);
        var written = await client.WriteFileAsync(OursPath, file, null, true, ct).ConfigureAwait(false);
        if (written.Bytes != size)
        {
            throw new BenchException($"upload wrote {written.Bytes} bytes, expected {size}");
        }
    }

    private static async Task OursDownloadAsync(SandboxClient client, string target, long size, CancellationToken ct)
    {
        await using (var remote = await client.OpenReadAsync(OursPath, ct).ConfigureAwait(false))
        await using (var file = File.Create(target))
        {
            await remote.CopyToAsync(file, 1 << 17, ct).ConfigureAwait(false);
        }
        CheckLength(target, size, "download");
    }

    private static Task DockerUploadAsync(BenchContext ctx, string containerId, string source, CancellationToken ct)
        => ctx.Engine.PutArchiveAsync(containerId, DockerDir, new TarFileContent(source, DockerName), ct);

    private static async Task DockerDownloadAsync(BenchContext ctx, string containerId, string target, long size, CancellationToken ct)
    {
        using var response = await ctx.Engine.GetArchiveAsync(containerId, $"{DockerDir}/{DockerName}", ct).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using var reader = new TarReader(stream);
        var entry = await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false)
            ?? throw new BenchException("the engine's archive of the uploaded file is empty");
        await using (var file = File.Create(target))
        {
            if (entry.DataStream is { } data)
            {
                await data.CopyToAsync(file, 1 << 17, ct).ConfigureAwait(false);
            }
        }
        while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is not null)
        {
        }
        CheckLength(target, size, "docker archive download");
    }

    private static void CheckLength(string path, long size, string what)
    {
        var length = new FileInfo(path).Length;
        if (length != size)
        {
            throw new BenchException($"{what} produced {length} bytes, expected {size}");
        }
    }

    private static async Task WriteRandomFileAsync(string path, long size, CancellationToken ct)
    {
        var buffer = new byte[1 << 20];
        await using var file = File.Create(path);
        for (long done = 0; done < size; done += buffer.Length)
        {
            Random.Shared.NextBytes(buffer);
            await file.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, size - done)), ct).ConfigureAwait(false);
        }
    }

    /// <summary>A tar of one file, written straight into the request body (chunked), never buffered whole.</summary>
    private sealed class TarFileContent : HttpContent
    {
        private readonly string _path;
        private readonly string _entryName;

        public TarFileContent(string path, string entryName)
        {
            _path = path;
            _entryName = entryName;
            Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
            => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await using var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true);
            await writer.WriteEntryAsync(_path, _entryName, cancellationToken).ConfigureAwait(false);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
