using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>One-shot processes (<c>POST /v1/exec</c>): argv or <c>sh -c</c>, stdout and stderr apart.</summary>
internal static class ExecRunner
{
    /// <summary>Checks the stdin options; the result carries stdinPath resolved (Start and RunAsync take it).</summary>
    public static ExecRequest Normalize(ServerState state, ExecRequest request)
    {
        if (request.Stdin is not null && request.StdinPath is not null)
        {
            throw ApiException.BadRequest("Give at most one of 'stdin' (text) and 'stdinPath' (a file streamed to stdin).");
        }
        if (request.StdinPath is not null)
        {
            var stdinPath = PathResolver.Resolve(state, request.StdinPath, "stdinPath");
            int type = Native.FileType(stdinPath);
            if (type < 0)
            {
                throw new ApiException(404, ErrorIds.PathNotFound, $"The stdinPath '{stdinPath}' does not exist.");
            }
            if (type != Native.S_IFREG)
            {
                throw new ApiException(400, ErrorIds.NotARegularFile, $"The stdinPath '{stdinPath}' is not a regular file.");
            }
            return request with { StdinPath = stdinPath };
        }
        return request;
    }

    public static Process Start(ServerState state, ExecRequest request)
    {
        bool hasArgv = request.Argv is { Count: > 0 };
        bool hasShell = request.Shell is not null;
        if (hasArgv == hasShell)
        {
            throw ApiException.BadRequest("Give exactly one of 'argv' (a non-empty array) or 'shell' (a command line).");
        }
        ApiException.CheckTimeout(request.TimeoutSeconds);
        ApiException.CheckMaxOutput(request.MaxOutputBytes);
        var cwd = request.Cwd is null ? state.WorkDir : PathResolver.Resolve(state, request.Cwd, "cwd");
        if (!Directory.Exists(cwd))
        {
            throw new ApiException(400, ErrorIds.InvalidPath, $"The cwd '{cwd}' is not an existing directory.");
        }
        ProcessStartInfo psi;
        if (hasArgv)
        {
            if (request.Argv!.Any(a => a is null || a.Contains('\0')) || request.Argv![0].Length == 0)
            {
                throw ApiException.BadRequest("argv items must be non-null strings without NUL, and argv[0] must not be empty.");
            }
            // Like execvp in the child: a relative program path is relative to cwd, and a bare name
            // is looked up on the PATH the process will have (the request's, when it sets one).
            var program = request.Argv[0];
            if (program.Contains('/') && !Path.IsPathRooted(program))
            {
                program = Path.GetFullPath(Path.Combine(cwd, program));
            }
            else if (!program.Contains('/') && request.Env?.ContainsKey("PATH") == true)
            {
                program = ChildEnvironment.Which(program, request.Env) ?? program;
            }
            psi = new ProcessStartInfo(program);
            foreach (var a in request.Argv.Skip(1))
            {
                psi.ArgumentList.Add(a);
            }
        }
        else
        {
            if (request.Shell!.Contains('\0'))
            {
                throw ApiException.BadRequest("shell must not contain NUL characters.");
            }
            var sh = File.Exists("/bin/sh") ? "/bin/sh" : state.Shell
                ?? throw new ApiException(400, ErrorIds.ExecutableNotFound, "No /bin/sh in this sandbox; use 'argv' instead of 'shell'.");
            psi = new ProcessStartInfo(sh);
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(ShellText.FromWindowsLineEndings(request.Shell));
        }
        psi.WorkingDirectory = cwd;
        psi.UseShellExecute = false;
        psi.RedirectStandardInput = true;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.Environment.Remove(ProtocolConstants.TokenEnvironmentVariable);
        if (request.Env is not null)
        {
            foreach (var (k, v) in request.Env)
            {
                ChildEnvironment.Validate(k, v);
                psi.Environment[k] = v;
            }
        }
        try
        {
            return Process.Start(psi) ?? throw new ApiException(500, ErrorIds.InternalError, "The process did not start.");
        }
        catch (Win32Exception ex)
        {
            throw new ApiException(400, ErrorIds.ExecutableNotFound,
                $"Cannot run '{psi.FileName}': {ex.Message}");
        }
    }

    /// <summary>
    /// Runs a started process to its end; output chunks also go to <paramref name="events"/> when given.
    /// When <paramref name="clientGone"/> fires (the client aborted the request: Ctrl+C in PowerShell), the
    /// process tree is killed, as on a timeout: nobody is left to read its result.
    /// </summary>
    public static async Task<ExecResult> RunAsync(Process process, ExecRequest request, ChannelWriter<StreamEvent>? events,
                                                  CancellationToken clientGone = default)
    {
        var clock = Stopwatch.StartNew();
        int cap = request.MaxOutputBytes ?? ProtocolConstants.DefaultMaxOutputBytes;
        var stdout = new OutputCapture(cap);
        var stderr = new OutputCapture(cap);
        bool timedOut = false;
        using var timeoutCts = new CancellationTokenSource();
        try
        {
            var outTask = Pump(process.StandardOutput.BaseStream, stdout, StreamEventTypes.Stdout, events);
            var errTask = Pump(process.StandardError.BaseStream, stderr, StreamEventTypes.Stderr, events);
            var inTask = Task.Run(async () =>
            {
                try
                {
                    if (request.StdinPath is { } stdinPath)
                    {
                        // Streamed: the input is never held in memory whole.
                        await using var file = new FileStream(stdinPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0, FileOptions.Asynchronous);
                        await file.CopyToAsync(process.StandardInput.BaseStream, 128 * 1024);
                    }
                    else if (!string.IsNullOrEmpty(request.Stdin))
                    {
                        // In slices: no second copy of a large input as one array.
                        var stream = process.StandardInput.BaseStream;
                        var buffer = new byte[Encoding.UTF8.GetMaxByteCount(16 * 1024)];
                        var encoder = Encoding.UTF8.GetEncoder();
                        var text = request.Stdin.AsMemory();
                        while (!text.IsEmpty)
                        {
                            var slice = text[..Math.Min(16 * 1024, text.Length)];
                            // A surrogate pair split between slices stays whole: the encoder keeps the high half.
                            int n = encoder.GetBytes(slice.Span, buffer, flush: slice.Length == text.Length);
                            await stream.WriteAsync(buffer.AsMemory(0, n));
                            text = text[slice.Length..];
                        }
                    }
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // The program ended without reading its input.
                }
            });
            var exited = process.WaitForExitAsync();
            using var onClientGone = clientGone.Register(static p =>
            {
                try
                {
                    ((Process)p!).Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // Already exited.
                }
            }, process);
            if (request.TimeoutSeconds is { } t)
            {
                if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(t))) != exited)
                {
                    timedOut = true;
                    try
                    {
                        process.Kill(entireProcessTree: true);
                    }
                    catch (InvalidOperationException)
                    {
                    }
                }
            }
            await exited;
            // Background children may keep the pipes open: do not wait for them past a short grace.
            var pumps = Task.WhenAll(outTask, errTask);
            if (await Task.WhenAny(pumps, Task.Delay(TimeSpan.FromSeconds(timedOut ? 1 : 2))) != pumps)
            {
                process.StandardOutput.BaseStream.Dispose();
                process.StandardError.BaseStream.Dispose();
            }
            await inTask;
            return new ExecResult
            {
                ExitCode = timedOut ? 124 : process.ExitCode,
                Stdout = stdout.GetText(),
                Stderr = stderr.GetText(),
                TimedOut = timedOut,
                Truncated = stdout.Truncated || stderr.Truncated,
                DurationMs = clock.Elapsed.TotalMilliseconds,
            };
        }
        finally
        {
            process.Dispose();
        }
    }

    private static async Task Pump(Stream stream, OutputCapture capture, string type, ChannelWriter<StreamEvent>? events)
    {
        var buffer = new byte[16 * 1024];
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length) + 4];
        try
        {
            while (true)
            {
                int n = await stream.ReadAsync(buffer);
                if (n == 0)
                {
                    break;
                }
                capture.Append(buffer.AsSpan(0, n));
                if (events is not null)
                {
                    int c = decoder.GetChars(buffer, 0, n, chars, 0, flush: false);
                    if (c > 0)
                    {
                        try
                        {
                            await events.WriteAsync(new StreamEvent { Type = type, Data = new string(chars, 0, c) });
                        }
                        catch (ChannelClosedException)
                        {
                            events = null;
                        }
                    }
                }
            }
        }
        catch (ObjectDisposedException)
        {
        }
        catch (IOException)
        {
        }
    }
}
