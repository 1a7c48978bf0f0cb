using System.Diagnostics;
using System.Globalization;

using System.Text;
using System.Threading.Channels;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>
/// A persistent shell or python3 process on its own pseudo-terminal. Commands go in through a
/// private pipe (fd 3 in the child), output comes back from the terminal; the end of a command is
/// a marker the child prints with the exit code and cwd, so completion needs no sleeping or polling.
/// One command at a time; input and Ctrl-C go to the terminal like a person typing.
/// </summary>
internal sealed class Session : IDisposable
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);
    private readonly object _gate = new();
    private readonly MarkerScanner _scanner;
    private readonly string _nonce;
    private readonly Fd _master;
    private readonly Fd _commands;
    // Our own handle on the terminal's slave side, to repair its modes before each command.
    private readonly Fd _slave;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _readerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _seq;
    private Run? _run;
    // true: commands end with NUL and the shell reads them with `read -d ''`; false (dash): the
    // shell reads an exact byte count with `head -c` and the command carries a trailing 'x'.
    private bool _nulFraming = true;
    private int _disposed;

    public string Id { get; }
    public string Kind { get; }
    public int Pid { get; }
    public DateTimeOffset CreatedAt { get; } = DateTimeOffset.UtcNow;
    public DateTimeOffset LastUsedAt { get; private set; } = DateTimeOffset.UtcNow;
    public string? Cwd { get; private set; }
    public bool Alive { get; private set; } = true;
    public int? ExitCode { get; private set; }
    public bool Busy { get { lock (_gate) { return _run is not null; } } }

    private Session(string id, string kind, int pid, int master, int slave, int commands, string nonce, string? cwd)
    {
        _slave = new Fd(slave);
        Id = id;
        Kind = kind;
        Pid = pid;
        _master = new Fd(master);
        _commands = new Fd(commands);
        _nonce = nonce;
        _scanner = new MarkerScanner(nonce);
        Cwd = cwd;
    }

    public SessionInfo ToInfo() => new()
    {
        Id = Id,
        Kind = Kind,
        Cwd = Cwd,
        CreatedAt = CreatedAt,
        LastUsedAt = LastUsedAt,
        Busy = Busy,
        Alive = Alive,
        Pid = Pid,
    };

    /// <summary>Starts the session's process and waits until it has printed its first marker.</summary>
    public static async Task<Session> StartAsync(string id, string kind, string program, string? cwd,
        IReadOnlyDictionary<string, string>? env, ServerState state)
    {
        var nonce = Native.RandomHex(8);
        var (master, slavePath) = Native.OpenPty();
        int pipeRead = -1, pipeWrite = -1, slave = -1;
        Session? session = null;
        try
        {
            slave = Native.OpenSlave(slavePath);
            Native.EnsureTerminalModes(slave);
            Native.SetWindowSize(slave, 50, 200);
            (pipeRead, pipeWrite) = Native.Pipe();
            var environment = ChildEnvironment.Build(env, kind == SessionKinds.Shell);
            List<string> argv;
            if (kind == SessionKinds.Python)
            {
                argv = [program, "-u", "-q", "-c", PythonDriver.Source, nonce];
            }
            else if (Path.GetFileName(program) == "bash")
            {
                argv = [program, "--noprofile", "--norc", "--noediting", "-i"];
            }
            else
            {
                argv = [program, "-i"];
            }
            int pid;
            try
            {
                pid = Native.Spawn(program, argv, environment, cwd,
                    dups: [(1, 0), (2, 0), (3, pipeRead)],
                    opens: [(0, slavePath)],
                    newSession: true);
            }
            catch (SpawnException ex)
            {
                throw new ApiException(400, kind == SessionKinds.Python ? ErrorIds.PythonNotAvailable : ErrorIds.ExecutableNotFound, ex.Message);
            }
            Native.close(pipeRead);
            pipeRead = -1;
            session = new Session(id, kind, pid, master, slave, pipeWrite, nonce, cwd);
            session.StartThreads();
            if (kind == SessionKinds.Shell)
            {
                session.WriteTerminal(Encoding.UTF8.GetBytes(ShellInit(program, nonce)));
            }
            var started = await Task.WhenAny(session._started.Task, Task.Delay(TimeSpan.FromSeconds(15)));
            if (started != session._started.Task || !session.Alive)
            {
                var code = session.ExitCode;
                session.Dispose();
                throw new ApiException(500, ErrorIds.InternalError,
                    code is null ? $"The {kind} session did not start within 15 s ({program})."
                                 : $"The {kind} session's process ({program}) exited at start with code {code}.");
            }
            return session;
        }
        catch
        {
            if (session is null)
            {
                Native.close(master);
                if (pipeWrite >= 0) Native.close(pipeWrite);
                if (slave >= 0) Native.close(slave);
            }
            if (pipeRead >= 0) Native.close(pipeRead);
            throw;
        }
    }

    private static string ShellInit(string program, string nonce)
    {
        var sb = new StringBuilder();
        if (Path.GetFileName(program) == "bash")
        {
            sb.Append("set +o history; unset HISTFILE PROMPT_COMMAND MAILCHECK; PS0=''; ");
        }
        sb.Append("PS1=''; PS2=''; ");
        // The marker also clears whatever prompt the command set (venv's activate, PROMPT_COMMAND):
        // the shell prints it after the marker, where it would land in the next call's output.
        sb.Append("__sbx_m() { PS1=''; PS2=''; PS0=''; unset PROMPT_COMMAND; printf '\\036SBX%s:%s:%s:%s\\036' '").Append(nonce).Append("' \"$1\" \"$2\" \"$PWD\"; }; ");
        // The first marker's exit code tells whether `read -d ''` works (1 = EOF: bash, ash) or not (dash).
        sb.Append("IFS= read -r -d '' __sbx_c </dev/null 2>/dev/null; __sbx_m 0 $?\n");
        return sb.ToString();
    }

    private void StartThreads()
    {
        var reader = new Thread(ReadLoop) { IsBackground = true, Name = "session-read-" + Id };
        _readerThread = reader;
        reader.Start();
        var waiter = new Thread(WaitLoop) { IsBackground = true, Name = "session-wait-" + Id, };
        waiter.Start();
    }

    private unsafe void ReadLoop()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                nint n = -1;
                int errno = 0;
                bool open = _master.Use(fd =>
                {
                    fixed (byte* p = buffer)
                    {
                        n = Native.read(fd, p, buffer.Length);
                    }
                    errno = n < 0 ? System.Runtime.InteropServices.Marshal.GetLastPInvokeError() : 0;
                    return true;
                });
                if (!open)
                {
                    break;
                }
                if (n < 0 && errno == Native.EINTR)
                {
                    continue;
                }
                if (n <= 0)
                {
                    break;
                }
                lock (_gate)
                {
                    _scanner.Feed(buffer.AsSpan(0, (int)n), OnOutput, OnMarker);
                }
                // Streaming happens outside the lock: a slow client slows the command, not the session.
                while (_toStream.TryDequeue(out var item))
                {
                    item.Run.Push(item.Chunk);
                }
            }
        }
        finally
        {
            _readerDone.TrySetResult();
        }
    }

    private void WaitLoop()
    {
        int code = Native.WaitForExit(Pid);
        ExitCode = code;
        Alive = false;
        CloseSlave();
        _started.TrySetResult();
        // Let the reader drain what the process printed last, then finish the running command.
        Task.WhenAny(_readerDone.Task, Task.Delay(200)).ContinueWith(_ =>
        {
            Run? run;
            lock (_gate)
            {
                run = _run;
            }
            run?.Complete(this, code, null);
        }, TaskScheduler.Default);
    }

    // Touched only on the reader thread: chunks to stream after the lock is released (null = end of stream).
    private readonly Queue<(Run Run, byte[]? Chunk)> _toStream = new();
    private Thread? _readerThread;

    // Called under _gate.
    private void OnOutput(ReadOnlySpan<byte> data)
    {
        if (_run is { } run && run.Output(data))
        {
            _toStream.Enqueue((run, data.ToArray()));
        }
    }

    // Called under _gate.
    private void OnMarker(MarkerScanner.Marker marker)
    {
        Cwd = marker.Cwd;
        if (marker.Seq == 0)
        {
            _nulFraming = Kind == SessionKinds.Python || marker.ExitCode == 1;
            _started.TrySetResult();
            return;
        }
        if (_run is { } run && (marker.Seq == run.CommandSeq || marker.Seq == run.FinalSeq))
        {
            run.Complete(this, marker.ExitCode, marker.Cwd);
        }
    }

    private object Gate => _gate;

    // Called under _gate.
    private void Finished(Run run)
    {
        if (ReferenceEquals(_run, run))
        {
            _run = null;
        }
        LastUsedAt = DateTimeOffset.UtcNow;
    }

    /// <summary>Starts a command. Throws SessionBusy / SessionExited; the run ends by itself.</summary>
    public Run Start(RunRequest request, bool stream)
    {
        if (request.Command.Contains('\0'))
        {
            throw ApiException.BadRequest("The command must not contain NUL characters.");
        }
        if (request.TimeoutSeconds is <= 0 or > 1e7)
        {
            throw ApiException.BadRequest($"timeoutSeconds must be > 0; got {request.TimeoutSeconds}.");
        }
        if (request.MaxOutputBytes is < 0)
        {
            throw ApiException.BadRequest($"maxOutputBytes must be ≥ 0; got {request.MaxOutputBytes}.");
        }
        Run run;
        lock (_gate)
        {
            if (!Alive)
            {
                throw new ApiException(409, ErrorIds.SessionExited,
                    $"Session '{Id}' has exited (code {ExitCode}); delete it and create a new one.");
            }
            if (_run is not null)
            {
                throw new ApiException(409, ErrorIds.SessionBusy,
                    $"Session '{Id}' is running another command; wait for it, interrupt it, or use another session.");
            }
            long seq = ++_seq;
            run = new Run(Id, seq, request.MaxOutputBytes ?? ProtocolConstants.DefaultMaxOutputBytes, stream);
            _run = run;
            LastUsedAt = DateTimeOffset.UtcNow;
        }
        var body = Encoding.UTF8.GetBytes(Kind == SessionKinds.Shell ? ShellText.FromWindowsLineEndings(request.Command) : request.Command);
        _slave.Use(fd =>
        {
            try
            {
                Native.EnsureTerminalModes(fd);
            }
            catch (IOException)
            {
                // The terminal is going away with the session; the run will report it.
            }
            return true;
        });
        _ = Task.Run(() =>
        {
            bool ok;
            if (Kind == SessionKinds.Python)
            {
                var header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{run.CommandSeq} {body.Length}\n"));
                ok = _commands.Use(fd => Native.WriteAll(fd, header) && Native.WriteAll(fd, body));
            }
            else
            {
                var read = _nulFraming
                    ? "IFS= read -r -d '' __sbx_c <&3"
                    : string.Create(CultureInfo.InvariantCulture, $"__sbx_c=$(head -c {body.Length + 1} <&3); __sbx_c=${{__sbx_c%x}}");
                var trigger = string.Create(CultureInfo.InvariantCulture, $"{read}; eval \"$__sbx_c\"; __sbx_m {run.CommandSeq} $?\n");
                ok = WriteTerminal(Encoding.ASCII.GetBytes(trigger));
                var framed = new byte[body.Length + 1];
                body.CopyTo(framed, 0);
                framed[^1] = _nulFraming ? (byte)0 : (byte)'x';
                ok = ok && _commands.Use(fd => Native.WriteAll(fd, framed));
            }
            if (!ok)
            {
                run.Complete(this, ExitCode ?? -1, null);
            }
        });
        if (request.TimeoutSeconds is { } t)
        {
            _ = WatchTimeoutAsync(run, TimeSpan.FromSeconds(t));
        }
        return run;
    }

    private async Task WatchTimeoutAsync(Run run, TimeSpan timeout)
    {
        var done = await Task.WhenAny(run.Completion, Task.Delay(timeout));
        if (done != run.Completion)
        {
            run.TimedOut = true;
            await EscalateAsync(run);
        }
    }

    /// <summary>Ctrl-C to the running command; SIGKILL to its process group after a grace period.</summary>
    public void Interrupt()
    {
        Run run;
        lock (_gate)
        {
            run = _run ?? throw new ApiException(409, ErrorIds.SessionIdle, $"Session '{Id}' is not running a command.");
        }
        run.Interrupted = true;
        _ = EscalateAsync(run);
    }

    private async Task EscalateAsync(Run run)
    {
        lock (_gate)
        {
            if (run.Escalating || !ReferenceEquals(_run, run))
            {
                return;
            }
            run.Escalating = true;
        }
        var recovery = Array.Empty<byte>();
        if (Kind == SessionKinds.Shell)
        {
            // An interactive shell drops the rest of a line whose job died of SIGINT, marker included:
            // a second, marker-only line tells us when the shell is back.
            lock (_gate)
            {
                run.FinalSeq = ++_seq;
            }
            recovery = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"__sbx_m {run.FinalSeq} 130\n"));
        }
        WriteTerminal([0x03]);
        if (recovery.Length > 0)
        {
            WriteTerminal(recovery);
        }
        if (await Completes(run, Grace))
        {
            return;
        }
        int fg = -1;
        _master.Use(fd =>
        {
            fg = Native.tcgetpgrp(fd);
            return true;
        });
        if (fg > 0 && fg != Pid && Kind == SessionKinds.Shell)
        {
            Native.kill(-fg, Native.SIGKILL);
            if (await Completes(run, Grace))
            {
                return;
            }
        }
        // The shell (or python) itself does not come back: end the session.
        KillProcesses();
        if (!await Completes(run, Grace))
        {
            run.Complete(this, 137, null);
        }
    }

    private static async Task<bool> Completes(Run run, TimeSpan within) =>
        await Task.WhenAny(run.Completion, Task.Delay(within)) == run.Completion;

    /// <summary>Text to the running command's input (the terminal); eof sends Ctrl-D.</summary>
    public void SendInput(InputRequest request)
    {
        lock (_gate)
        {
            if (!Alive)
            {
                throw new ApiException(409, ErrorIds.SessionExited, $"Session '{Id}' has exited.");
            }
            if (_run is null)
            {
                throw new ApiException(409, ErrorIds.SessionIdle, $"Session '{Id}' is not running a command; input goes to a running command only.");
            }
        }
        if (!string.IsNullOrEmpty(request.Data))
        {
            WriteTerminal(Encoding.UTF8.GetBytes(request.Data));
        }
        if (request.Eof)
        {
            WriteTerminal([0x04]);
        }
    }

    private bool WriteTerminal(byte[] data) => _master.Use(fd => Native.WriteAll(fd, data));

    // Once closed, the reader sees EIO as soon as the last process holding the terminal is gone.
    private void CloseSlave() => _slave.Dispose();

    /// <summary>SIGKILL every process of the terminal session (background jobs included).</summary>
    private void KillProcesses()
    {
        foreach (var pid in ProcessTable.InSession(Pid))
        {
            Native.kill(pid, Native.SIGKILL);
        }
        Native.kill(-Pid, Native.SIGKILL);
        Native.kill(Pid, Native.SIGKILL);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (Alive)
        {
            KillProcesses();
        }
        CloseSlave();
        _commands.Dispose();
        // The reader thread ends with EIO once every holder of the terminal is gone; then the master closes.
        _readerDone.Task.ContinueWith(_ => _master.Dispose(), TaskScheduler.Default);
    }

    /// <summary>One command in flight: captured output, optional live stream, completion.</summary>
    internal sealed class Run
    {
        private readonly OutputCapture _capture;
        private readonly Channel<byte[]>? _stream;
        private readonly TaskCompletionSource<RunResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly string _sessionId;
        private bool _streamDetached;

        public Run(string sessionId, long seq, int cap, bool stream)
        {
            _sessionId = sessionId;
            CommandSeq = seq;
            FinalSeq = seq;
            _capture = new OutputCapture(cap);
            if (stream)
            {
                _stream = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(256) { SingleReader = true, SingleWriter = true });
            }
        }

        public long CommandSeq { get; }
        public long FinalSeq { get; set; }
        public bool TimedOut { get; set; }
        public bool Interrupted { get; set; }
        public bool Escalating { get; set; }
        public Task<RunResult> Completion => _done.Task;
        public ChannelReader<byte[]>? Stream => _stream?.Reader;

        /// <summary>Captures output (under the session's lock); true when it should also be streamed.</summary>
        public bool Output(ReadOnlySpan<byte> data)
        {
            if (_done.Task.IsCompleted)
            {
                return false;
            }
            _capture.Append(data);
            return _stream is not null && !_streamDetached;
        }

        /// <summary>Streams a chunk (reader thread, outside the lock); waits for room, unless the client went away.</summary>
        public void Push(byte[]? chunk)
        {
            if (chunk is null)
            {
                _stream?.Writer.TryComplete();
                return;
            }
            if (_stream is null || _streamDetached || _stream.Writer.TryWrite(chunk))
            {
                return;
            }
            try
            {
                _stream.Writer.WriteAsync(chunk).AsTask().GetAwaiter().GetResult();
            }
            catch (ChannelClosedException)
            {
                _streamDetached = true;
            }
        }

        /// <summary>The HTTP side stopped listening (client gone): keep running, stop streaming.</summary>
        public void DetachStream()
        {
            _streamDetached = true;
            _stream?.Writer.TryComplete();
            while (_stream?.Reader.TryRead(out _) == true)
            {
            }
        }

        public void Complete(Session session, int exitCode, string? cwd)
        {
            RunResult result;
            lock (session.Gate)
            {
                if (_done.Task.IsCompleted)
                {
                    return;
                }
                result = new RunResult
                {
                    SessionId = _sessionId,
                    ExitCode = TimedOut ? 124 : exitCode,
                    Output = _capture.GetText(),
                    Cwd = cwd ?? session.Cwd,
                    TimedOut = TimedOut,
                    Interrupted = Interrupted,
                    Truncated = _capture.Truncated,
                    DurationMs = _clock.Elapsed.TotalMilliseconds,
                };
                session.Finished(this);
                _done.TrySetResult(result);
                if (Thread.CurrentThread == session._readerThread)
                {
                    session._toStream.Enqueue((this, null));
                    return;
                }
            }
            _stream?.Writer.TryComplete();
        }
    }
}
