using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

/// <summary>
/// The real published static server (copied beside the tests) as a child process on 127.0.0.1, port 0.
/// The URL comes from its first stdout line; it is killed by pid on dispose.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    public string Url { get; }
    public string Token { get; }
    public string WorkDir { get; }
    public int Pid => _process.Id;
    public HttpClient Http { get; }
    public TimeSpan StartupTime { get; }

    public static string BinaryPath => Path.Combine(AppContext.BaseDirectory, "sandboxps-server");

    private ServerProcess(Process process, string url, string token, string workDir, TimeSpan startup)
    {
        _process = process;
        Url = url;
        Token = token;
        WorkDir = workDir;
        StartupTime = startup;
        Http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public static async Task<ServerProcess> StartAsync(string[]? args = null, IDictionary<string, string?>? env = null, string? workDir = null)
    {
        workDir ??= Directory.CreateTempSubdirectory("sbx-server-test-").FullName;
        var token = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
        var psi = new ProcessStartInfo(BinaryPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workDir,
        };
        foreach (var a in args ?? ["--listen", "127.0.0.1:0"])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment[ProtocolConstants.TokenEnvironmentVariable] = token;
        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }
        }
        var clock = Stopwatch.StartNew();
        var process = Process.Start(psi)!;
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(true);
            throw new InvalidOperationException("The server printed no first line within 20 s. stderr: " + stderr);
        }
        if (line is null)
        {
            await process.WaitForExitAsync();
            throw new InvalidOperationException($"The server exited ({process.ExitCode}) before listening. stderr: {stderr}");
        }
        using var doc = JsonDocument.Parse(line);
        var url = doc.RootElement.GetProperty("listening").GetString()!;
        var server = new ServerProcess(process, url, token, workDir, clock.Elapsed);
        return server;
    }

    public bool HasExited => _process.HasExited;

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Resident memory of the server process in KiB (VmRSS).</summary>
    public long RssKb() => ReadRss(Pid);

    public static long ReadRss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
            }
        }
        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception)
        {
        }
        _process.Dispose();
        try
        {
            MakeWritable(WorkDir);
            Directory.Delete(WorkDir, true);
        }
        catch (Exception)
        {
        }
    }

    private static void MakeWritable(string dir)
    {
        foreach (var d in Directory.EnumerateDirectories(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            try { File.SetUnixFileMode(d, (UnixFileMode)0x1ff); } catch (Exception) { }
        }
    }

    // ---- HTTP helpers ----

    public async Task<TRes> PostAsync<TReq, TRes>(string path, TReq body, JsonTypeInfo<TReq> req, JsonTypeInfo<TRes> res, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await Http.PostAsJsonAsync(path, body, req);
        await Expect(response, expected);
        return (await response.Content.ReadFromJsonAsync(res))!;
    }

    public Task<RunResult> RunAsync(string command, string session = "default", double? timeout = null, int? maxOutput = null) =>
        PostAsync($"/v1/sessions/{session}/run", new RunRequest { Command = command, TimeoutSeconds = timeout, MaxOutputBytes = maxOutput },
            ProtocolJsonContext.Default.RunRequest, ProtocolJsonContext.Default.RunResult);

    public Task<ExecResult> ExecAsync(ExecRequest request) =>
        PostAsync("/v1/exec", request, ProtocolJsonContext.Default.ExecRequest, ProtocolJsonContext.Default.ExecResult);

    public Task<SessionInfo> CreateSessionAsync(CreateSessionRequest request) =>
        PostAsync("/v1/sessions", request, ProtocolJsonContext.Default.CreateSessionRequest, ProtocolJsonContext.Default.SessionInfo, HttpStatusCode.Created);

    /// <summary>Waits (bounded) until the session runs a command, then 100 ms more so it has started.</summary>
    public async Task WaitBusyAsync(string id)
    {
        for (int i = 0; i < 200; i++)
        {
            var info = await GetAsync($"/v1/sessions/{id}", ProtocolJsonContext.Default.SessionInfo);
            if (info.Busy)
            {
                await Task.Delay(100);
                return;
            }
            await Task.Delay(20);
        }
        Assert.Fail("the session never became busy");
    }

    public async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type)
    {
        using var response = await Http.GetAsync(path);
        await Expect(response, HttpStatusCode.OK);
        return (await response.Content.ReadFromJsonAsync(type))!;
    }

    /// <summary>Sends a request that must fail; returns its problem after checking status and media type.</summary>
    public static async Task<ProblemDetails> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string errorId)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal(ProtocolConstants.ProblemMediaType, response.Content.Headers.ContentType?.MediaType);
        var problem = JsonSerializer.Deserialize(text, ProtocolJsonContext.Default.ProblemDetails)!;
        Assert.Equal(errorId, problem.ErrorId);
        Assert.Equal((int)status, problem.Status);
        Assert.False(string.IsNullOrWhiteSpace(problem.Detail));
        Assert.DoesNotContain("   at ", problem.Detail);
        return problem;
    }

    public async Task<ProblemDetails> PostProblemAsync(string path, string json, HttpStatusCode status, string errorId)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync(path, content);
        return await ProblemAsync(response, status, errorId);
    }

    public static async Task Expect(HttpResponseMessage response, HttpStatusCode expected)
    {
        if (response.StatusCode != expected)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.Fail($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        }
    }

    public static string Json<T>(T value, JsonTypeInfo<T> type) => JsonSerializer.Serialize(value, type);
}

/// <summary>One server shared by the tests of a class.</summary>
public class ServerFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    protected virtual string[]? Args => null;

    protected virtual IDictionary<string, string?>? Env => null;

    public async Task InitializeAsync() => Server = await ServerProcess.StartAsync(Args, Env);

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
