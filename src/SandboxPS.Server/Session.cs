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
    private Action<Session>? _onExit;
    // Wakes the reader thread out of poll, so the terminal's master closes even when a process that
    // escaped the session (setsid) still holds the slave side.
    private readonly int _wakeRead;
    private readonly Fd _wakeWrite;
    // Serializes writes to the command pipe (a command and an escalation's recovery message).
    private readonly object _commandsWrite = new();
    // Orders "is the shell still ours to signal" against reaping it (its pid could be reused after).
    private readonly object _processGate = new();
    private readonly ShellMode _mode;
    private long _seq;
    private Run? _run;
    // true: commands end with NUL and the shell reads them with `read -d ''`; false (dash): the
    // shell reads an exact byte count with `head -c` and the command carries a trailing 'x'.
    private bool _nulFraming = true;
    // bash: commands run with `.` from a here-string (bash is then not "interactive" while they run, so
    // it prints no `[1] PID` and no job notices); false when /dev/fd is missing (then eval).
    private bool _bashSource;
    private int _disposed;
    private int _slotReleased;

    /// <summary>How commands reach the process.</summary>
    private enum ShellMode
    {
        /// <summary>bash: a trigger line on the terminal reads the command from fd 3 and sources it.</summary>
        Bash,
        /// <summary>
        /// Other shells (dash, busybox ash): a loop the shell runs reads "SEQ LENGTH" and the command
        /// from fd 3, so the shell is never idle at its prompt, where it prints job notices (and where
        /// busybox 1.35 exits when SIGCHLD interrupts its read).
        /// </summary>
        Loop,
        Python,
    }

    public string Id { get; }
    public string Kind { get; }
    public int Pid { get; }
    public DateTimeOffset CreatedAt { get; } = DateTimeOffset.UtcNow;
    public DateTimeOffset LastUsedAt { get; private set; } = DateTimeOffset.UtcNow;
    public string? Cwd { get; private set; }
    public bool Alive { get; private set; } = true;
    public int? ExitCode { get; private set; }
    public bool Busy { get { lock (_gate) { return _run is not null; } } }

    /// <summary>
    /// Runs <paramref name="callback"/> once the session's process has ended (at once if it has),
    /// before the command it was running is reported finished.
    /// </summary>
    public void OnExit(Action<Session> callback)
    {
        lock (_processGate)
        {
            if (Alive)
            {
                _onExit = callback;
                return;
            }
        }
        callback(this);
    }

    /// <summary>True exactly once: the session's capacity slot is released (at exit or delete, whichever comes first).</summary>
    public bool TryReleaseSlot() => Interlocked.Exchange(ref _slotReleased, 1) == 0;

    private Session(string id, string kind, int pid, int master, int slave, int commands, string nonce, string? cwd, ShellMode mode, (int Read, int Write) wake)
    {
        _mode = mode;
        _wakeRead = wake.Read;
        _wakeWrite = new Fd(wake.Write);
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
        ExitCode = Alive ? null : ExitCode,
    };

    /// <summary>Starts the session's process and waits until it has printed its first marker.</summary>
    public static async Task<Session> StartAsync(string id, string kind, string program, string? cwd,
        IReadOnlyDictionary<string, string>? env, ServerState state)
    {
        var nonce = Native.RandomHex(8);
        var (master, slavePath) = Native.OpenPty();
        int pipeRead = -1, pipeWrite = -1, slave = -1;
        (int Read, int Write) wake = (-1, -1);
        Session? session = null;
        try
        {
            slave = Native.OpenSlave(slavePath);
            Native.EnsureTerminalModes(slave);
            Native.SetWindowSize(slave, 50, 200);
            (pipeRead, pipeWrite) = Native.Pipe();
            wake = Native.Pipe();
            var mode = kind == SessionKinds.Python ? ShellMode.Python
                : Path.GetFileName(program) == "bash" ? ShellMode.Bash : ShellMode.Loop;
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
                    newSession: true,
                    closeFrom: 4);
            }
            catch (SpawnException ex)
            {
                throw new ApiException(400, kind == SessionKinds.Python ? ErrorIds.PythonNotAvailable : ErrorIds.ExecutableNotFound, ex.Message);
            }
            Native.close(pipeRead);
            pipeRead = -1;
            session = new Session(id, kind, pid, master, slave, pipeWrite, nonce, cwd, mode, wake);
            session.StartThreads();
            if (kind == SessionKinds.Shell)
            {
                session.WriteTerminal(Encoding.UTF8.GetBytes(ShellInit(mode, nonce)));
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
                if (wake.Read >= 0) Native.close(wake.Read);
                if (wake.Write >= 0) Native.close(wake.Write);
            }
            if (pipeRead >= 0) Native.close(pipeRead);
            throw;
        }
    }

    private static string ShellInit(ShellMode mode, string nonce)
    {
        var sb = new StringBuilder();
        if (mode == ShellMode.Bash)
        {
            sb.Append("set +o history; unset HISTFILE MAILCHECK; PS0=''; PS1=''; PS2=''; ");
            // Before each prompt bash prints a prompt marker (sequence -1, with $?): after a marker it
            // is ignored; after Ctrl-C threw bash out of a command (the rest of the trigger line, marker
            // included, is dropped) it ends the interrupted run. No recovery line is typed, which a
            // command still reading the terminal (cat, read) could take as its input.
            // The prompt marker names the last command bash started (__sbx_q), so a stale one (a Ctrl-C
            // that reached bash idle) never ends a later run.
            sb.Append("__sbx_q=0; __sbx_p() { builtin printf '\\036SBX%s:P%s:%s:%s\\036' '").Append(nonce).Append("' \"$__sbx_q\" \"$?\" \"$PWD\"; PS1=''; PS2=''; PS0=''; }; PROMPT_COMMAND=__sbx_p; ");
            // The start marker: the command has been read whole from fd 3 and runs now. Only after it may
            // a Ctrl-C be sent (before, it would cut the hand-over and leave the command in the pipe).
            sb.Append("__sbx_g() { builtin printf '\\036SBX%s:S%s:0:\\036' '").Append(nonce).Append("' \"$__sbx_q\"; }; ");
            // The marker also clears whatever prompt the command set (venv's activate, PROMPT_COMMAND):
            // the shell prints it after the marker, where it would land in the next call's output.
            // Job control stays off (also when a command turned it on): with it, bash prints
            // `[1]+ Done ...` notices of finished jobs after a later command's foreground job or after
            // the marker, i.e. into other calls' output. Without it, background jobs ignore Ctrl-C
            // and read /dev/null, and a timeout kills what the command started (Escalate).
            // It also reads away whole lines of input the command left unread: bash would run them as
            // commands once back at its prompt (a partial line cannot be read; Start flushes it; the
            // timeout covers a terminal a command left in raw mode).
            sb.Append("__sbx_m() { builtin set +mb; PS1=''; PS2=''; PS0=''; PROMPT_COMMAND=__sbx_p; ");
            sb.Append("while IFS= builtin read -r -t 0 __sbx_z 2>/dev/null && IFS= builtin read -r -t 0.2 __sbx_z; do :; done; builtin printf '\\036SBX%s:%s:%s:%s\\036' '")
              .Append(nonce).Append("' \"$1\" \"$2\" \"$PWD\"; }; ");
            // The first marker's code: 1 = `read -d ''` works (always, in bash), +10 = sourcing from /dev/fd works.
            sb.Append("IFS= builtin read -r -d '' __sbx_c </dev/null 2>/dev/null; __sbx_r=$?; __sbx_s=0; ");
            sb.Append("builtin . /dev/fd/250 250<<<'__sbx_s=10' 2>/dev/null; __sbx_m 0 $((__sbx_r + __sbx_s))\n");
            return sb.ToString();
        }
        // Job control off (set +m in the marker), as for bash: no job notices, and a timeout kills
        // what the command started. The prompt is a marker too (sequence -1): shown only when the
        // shell fell out of its loop.
        sb.Append("__sbx_p=\"$(printf '\\036')SBX").Append(nonce).Append(":-1:0:$(printf '\\036')\"; __sbx_q=0; PS1=$__sbx_p; PS2=''; ");
        sb.Append("__sbx_m() { set +m; PS1=$__sbx_p; PS2=''; printf '\\036SBX%s:%s:%s:%s\\036' '").Append(nonce).Append("' \"$1\" \"$2\" \"$PWD\"; }; ");
        // The start marker (see bash above): printed once the command has been read whole.
        sb.Append("__sbx_g() { printf '\\036SBX%s:S%s:0:\\036' '").Append(nonce).Append("' \"$__sbx_q\"; }; ");
        // The first marker's code tells whether `read -d ''` works (1 = EOF: ash) or not (dash: head -c).
        sb.Append("IFS= read -r -d '' __sbx_c </dev/null 2>/dev/null; __sbx_r=$?; ");
        sb.Append("if [ \"$__sbx_r\" = 1 ]; then __sbx_x() { IFS= read -r -d '' __sbx_c <&3; __sbx_g; eval \"$__sbx_c\" 3<&-; }; ");
        sb.Append("else __sbx_x() { __sbx_c=$(head -c \"$__sbx_n\" <&3); __sbx_c=${__sbx_c%x}; __sbx_g; eval \"$__sbx_c\" 3<&-; }; fi; ");
        // The command runs in a function called from the loop's function. A `return` in it ends only
        // that function; a `continue` that reaches the loop (busybox) skips the marker, so the next
        // round prints it first; a `break` ends the loop, and the prompt marker brings it back.
        sb.Append("__sbx_d=1; __sbx_l() { while :; do if [ \"$__sbx_d\" = 0 ]; then __sbx_d=1; __sbx_m \"$__sbx_q\" 0; fi; ");
        sb.Append("IFS=' ' read -r __sbx_q __sbx_n <&3 || return; __sbx_d=0; __sbx_x; __sbx_r=$?; __sbx_d=1; __sbx_m \"$__sbx_q\" $__sbx_r; done; }; ");
        sb.Append("__sbx_m 0 $__sbx_r; __sbx_l\n");
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
                    if (!Native.WaitReadable(fd, _wakeRead))
                    {
                        n = 0;
                        return true;
                    }
                    _readInFlight = true;
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
                    _readInFlight = false;
                    continue;
                }
                if (n <= 0)
                {
                    _readInFlight = false;
                    break;
                }
                lock (_gate)
                {
                    _scanner.Feed(buffer.AsSpan(0, (int)n), OnOutput, OnMarker);
                    _readInFlight = false;
                }
                // Streaming happens outside the lock: a slow client slows the command, not the session.
                while (_toStream.TryDequeue(out var item))
                {
                    item.Run.Push(item.Chunk);
                }
                while (_toTerminal.TryDequeue(out var line))
                {
                    WriteTerminal(line);
                }
            }
        }
        finally
        {
            // Nothing reads the terminal any more: close it (processes still holding its slave side get EIO).
            _master.Dispose();
            Native.close(_wakeRead);
            _readerDone.TrySetResult();
        }
    }

    private void WaitLoop()
    {
        // Wait without reaping: while the shell is a zombie its pid (and the session id it led) cannot
        // be reused, so killing what it left behind cannot hit anyone else.
        Native.WaitExitedNoReap(Pid);
        int code;
        Action<Session>? onExit;
        lock (_processGate)
        {
            // The session ends with its process: background jobs it left go too (as with DELETE), so an
            // exited session holds no processes and no capacity.
            foreach (var pid in ProcessTable.InSession(Pid))
            {
                if (pid != Pid)
                {
                    Native.kill(pid, Native.SIGKILL);
                }
            }
            code = Native.WaitForExit(Pid);
            ExitCode = code;
            Alive = false;
            onExit = _onExit;
        }
        onExit?.Invoke(this);
        CloseSlave();
        _commands.Dispose();
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
            Wake();
            _wakeWrite.Dispose();
        }, TaskScheduler.Default);
    }

    /// <summary>Stops the reader thread (it then closes the terminal).</summary>
    private void Wake() => _wakeWrite.Use(fd => Native.WriteAll(fd, [1]));

    // Touched only on the reader thread: chunks to stream after the lock is released (null = end of stream).
    private readonly Queue<(Run Run, byte[]? Chunk)> _toStream = new();
    private Thread? _readerThread;
    // Set by the reader from "the terminal is readable" until what it read has been scanned (under _gate).
    private volatile bool _readInFlight;

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
        if (marker.Kind == MarkerScanner.MarkerKind.Start)
        {
            // The process has the whole command and runs it now: from here on its output is the run's,
            // and a Ctrl-C can no longer cut the hand-over.
            if (_run is { } starting && marker.Seq == starting.CommandSeq)
            {
                starting.MarkStarted();
            }
            return;
        }
        if (marker.Kind == MarkerScanner.MarkerKind.Prompt && _mode == ShellMode.Bash)
        {
            // bash is at its prompt. After a marker that is the normal course; for the command it
            // started last and that has not ended, it means bash abandoned the command line (Ctrl-C, a
            // signal the command sent its shell): the run ends. A stale one (older seq) is ignored.
            if (_run is { IsStarted: true } abandoned && marker.Seq == abandoned.CommandSeq)
            {
                abandoned.Complete(this, marker.ExitCode, marker.Cwd);
            }
            return;
        }
        if (marker.Kind == MarkerScanner.MarkerKind.Prompt)
        {
            // A loop shell is at its prompt: an error in a special builtin (a syntax error in eval),
            // Ctrl-C, or a `break` out of its loop threw it there. Finish the command it was running
            // (or re-mark the last one) and re-enter the loop; a shell that keeps falling out (its
            // fd 3 closed) is left alone.
            if (_mode == ShellMode.Loop && ++_promptsInARow <= 3)
            {
                _reentryPending = true;
                _toTerminal.Enqueue(Encoding.ASCII.GetBytes("__sbx_m \"$__sbx_q\" $?; __sbx_l\n"));
            }
            return;
        }
        Cwd = marker.Cwd;
        _promptsInARow = 0;
        _reentryPending = false;
        if (marker.Seq == 0)
        {
            if (!_started.Task.IsCompleted)
            {
                _nulFraming = Kind == SessionKinds.Python || marker.ExitCode % 10 == 1;
                _bashSource = _mode == ShellMode.Bash && marker.ExitCode >= 10;
                _started.TrySetResult();
            }
            return;
        }
        if (_run is { } run && (marker.Seq == run.CommandSeq || marker.Seq == run.FinalSeq))
        {
            run.Complete(this, marker.ExitCode, marker.Cwd);
        }
    }

    // Touched on the reader thread only (under _gate): prompts seen since the last marker.
    private int _promptsInARow;
    // A re-entry line is on its way to a loop shell at its prompt: flushing the terminal's input would drop it.
    private volatile bool _reentryPending;
    // Touched only on the reader thread: lines for the terminal, written after the lock is released.
    private readonly Queue<byte[]> _toTerminal = new();

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
        ApiException.CheckTimeout(request.TimeoutSeconds);
        ApiException.CheckMaxOutput(request.MaxOutputBytes);
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
                // Input the last command left unread (or a stale recovery line) must not reach this one,
                // nor be run by the shell as a command.
                if (!_reentryPending)
                {
                    Native.FlushInput(fd);
                }
            }
            catch (IOException)
            {
                // The terminal is going away with the session; the run will report it.
            }
            return true;
        });
        if (Kind == SessionKinds.Shell)
        {
            // The shell's children now are background jobs of earlier commands: a timeout spares them.
            run.ChildrenAtStart = ProcessTable.Children(Pid);
        }
        run.Sent = Task.Run(() =>
        {
            if (!Send(run, body))
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

    /// <summary>Hands the command to the process: fd 3 carries it, bash also gets a trigger line on the terminal.</summary>
    private bool Send(Run run, byte[] body)
    {
        byte[] message;
        switch (_mode)
        {
            case ShellMode.Python:
            {
                var header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{run.CommandSeq} {body.Length}\n"));
                message = [.. header, .. body];
                break;
            }
            case ShellMode.Loop:
            {
                var header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{run.CommandSeq} {body.Length + 1}\n"));
                message = [.. header, .. body, _nulFraming ? (byte)0 : (byte)'x'];
                break;
            }
            default:
            {
                var read = _nulFraming
                    ? "IFS= builtin read -r -d '' __sbx_c <&3"
                    : string.Create(CultureInfo.InvariantCulture, $"__sbx_c=$(head -c {body.Length + 1} <&3); __sbx_c=${{__sbx_c%x}}");
                // Run from a sourced (tiny, constant) text, bash is not "interactive" meanwhile: it
                // prints no `[1] PID` for `cmd &` and no "exit" for `exit`. The marker stays outside,
                // where a `return` in the command cannot skip it.
                // The command runs with fd 3 (and the here-string's fd) closed: it and its background
                // jobs cannot read the command pipe, and an `exec 3>...` in it cannot replace it.
                var run1 = _bashSource ? "builtin . /dev/fd/250 250<<<'builtin eval \"$__sbx_c\" 3<&- 250<&-'" : "builtin eval \"$__sbx_c\" 3<&-";
                var trigger = string.Create(CultureInfo.InvariantCulture, $"__sbx_q={run.CommandSeq}; {read}; __sbx_g; {run1}; __sbx_m {run.CommandSeq} $?\n");
                if (!WriteTerminal(Encoding.ASCII.GetBytes(trigger)))
                {
                    return false;
                }
                message = [.. body, _nulFraming ? (byte)0 : (byte)'x'];
                break;
            }
        }
        lock (_commandsWrite)
        {
            return _commands.Use(fd => Native.WriteAll(fd, message));
        }
    }

    private async Task WatchTimeoutAsync(Run run, TimeSpan timeout)
    {
        var done = await Task.WhenAny(run.Completion, Task.Delay(timeout));
        if (done != run.Completion)
        {
            await EscalateAsync(run, timedOut: true);
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
        _ = EscalateAsync(run, timedOut: false);
    }

    /// <summary>How long a timeout or interrupt waits for the process to take the command (its start marker).</summary>
    private static readonly TimeSpan HandOverLimit = TimeSpan.FromSeconds(10);

    private async Task EscalateAsync(Run run, bool timedOut)
    {
        lock (_gate)
        {
            if (run.Escalating || !ReferenceEquals(_run, run))
            {
                return;
            }
            run.Escalating = true;
        }
        // A Ctrl-C is sent only once the process has taken the whole command (start marker): earlier
        // it would cut the hand-over (part of the command left in the pipe for the next run, the
        // trigger line dropped) and desync the session for good. The command then starts and is
        // interrupted at once. A process that does not take it in time is not ours to trust: it ends.
        if (!await Completes(run.Started, run, HandOverLimit))
        {
            if (!run.Completion.IsCompleted)
            {
                MarkEscalation(run, timedOut);
                KillProcesses();
                if (!await Completes(run, Grace))
                {
                    run.Complete(this, 137, null);
                }
            }
            return;
        }
        if (!await SendCtrlCAsync(run, timedOut))
        {
            // It ended meanwhile: a Ctrl-C now would hit the idle shell or the next command.
            return;
        }
        if (await Completes(run, Grace))
        {
            return;
        }
        if (Kind == SessionKinds.Shell)
        {
            // No job control, so no process group of its own: kill what the command started (the
            // shell's descendants but for the background jobs that were there before it).
            lock (_gate)
            {
                // Under the lock, as the Ctrl-C: once the run has ended, these could be the next command's.
                if (run.Completion.IsCompleted || !ReferenceEquals(_run, run))
                {
                    return;
                }
                foreach (var pid in ProcessTable.Descendants(Pid, run.ChildrenAtStart))
                {
                    Native.kill(pid, Native.SIGKILL);
                }
            }
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

    /// <summary>True when <paramref name="task"/> completed within the limit (false also when the run ended first).</summary>
    private static async Task<bool> Completes(Task task, Run run, TimeSpan within)
    {
        await Task.WhenAny(task, run.Completion, Task.Delay(within));
        return task.IsCompleted && !run.Completion.IsCompleted;
    }

    private static void MarkEscalation(Run run, bool timedOut)
    {
        if (timedOut)
        {
            run.TimedOut = true;
        }
        else
        {
            run.Interrupted = true;
        }
    }

    /// <summary>
    /// Ctrl-C to the running command, unless it has ended: the check and the signal happen under the
    /// session's lock, so the next command (which needs this run ended) cannot have been sent yet. A
    /// marker still on its way (unread on the terminal, or read and not yet scanned) counts as ended:
    /// the signal waits until the reader has caught up (bounded: a command printing without pause keeps
    /// the terminal readable).
    /// </summary>
    private async Task<bool> SendCtrlCAsync(Run run, bool timedOut)
    {
        for (int attempt = 0; ; attempt++)
        {
            lock (_gate)
            {
                if (run.Completion.IsCompleted || !ReferenceEquals(_run, run))
                {
                    return false;
                }
                bool pending = _readInFlight;
                if (!pending)
                {
                    _master.Use(fd =>
                    {
                        pending = Native.HasInput(fd);
                        return true;
                    });
                }
                if (!pending || attempt >= 20)
                {
                    MarkEscalation(run, timedOut);
                    // A shell thrown back to its prompt by the Ctrl-C shows its prompt marker: bash's ends
                    // the run, a loop shell's brings it back into its loop (OnMarker).
                    // The terminal does not flush on Ctrl-C (NOFLSH keeps the output we have not read
                    // yet), so drop unread input here: the shell must not run it as a command once back.
                    FlushInput();
                    // Ctrl-C as the terminal would send it (SIGINT to its foreground group), but synchronously.
                    int fg = -1;
                    _master.Use(fd =>
                    {
                        fg = Native.tcgetpgrp(fd);
                        return true;
                    });
                    Native.kill(fg > 0 ? -fg : -Pid, Native.SIGINT);
                    return true;
                }
            }
            await Task.Delay(2);
        }
    }

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

    private void FlushInput() => _slave.Use(fd =>
    {
        if (!_reentryPending)
        {
            Native.FlushInput(fd);
        }
        return true;
    });

    private bool WriteTerminal(byte[] data) => _master.Use(fd => Native.WriteAll(fd, data));

    // Once closed, the reader sees EIO as soon as the last process holding the terminal is gone.
    private void CloseSlave() => _slave.Dispose();

    /// <summary>SIGKILL every process of the terminal session (background jobs included).</summary>
    private void KillProcesses()
    {
        lock (_processGate)
        {
            if (!Alive)
            {
                // Reaped: its leftovers were killed then, and its pid may belong to someone else now.
                return;
            }
            foreach (var pid in ProcessTable.InSession(Pid))
            {
                Native.kill(pid, Native.SIGKILL);
            }
            Native.kill(-Pid, Native.SIGKILL);
            Native.kill(Pid, Native.SIGKILL);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        KillProcesses();
        CloseSlave();
        _commands.Dispose();
        // The reader thread closes the terminal when it ends: with EIO once every holder of the slave
        // side is gone, or woken here after a grace (a process that left the session may hold it).
        Task.WhenAny(_readerDone.Task, Task.Delay(Grace)).ContinueWith(_ =>
        {
            Wake();
            _wakeWrite.Dispose();
        }, TaskScheduler.Default);
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
        /// <summary>bash: the shell's children when the command started (background jobs to spare).</summary>
        public IReadOnlySet<int> ChildrenAtStart { get; set; } = new HashSet<int>();
        /// <summary>Completes when the command has been handed to the process.</summary>
        public Task Sent { get; set; } = Task.CompletedTask;
        public bool TimedOut { get; set; }
        public bool Interrupted { get; set; }
        public bool Escalating { get; set; }
        private readonly TaskCompletionSource _startedTcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>The process printed the start marker: it has read the whole command and runs it.</summary>
        public bool IsStarted { get; private set; }
        public Task Started => _startedTcs.Task;

        // Called under the session's lock.
        public void MarkStarted()
        {
            IsStarted = true;
            _startedTcs.TrySetResult();
        }
        public Task<RunResult> Completion => _done.Task;
        public ChannelReader<byte[]>? Stream => _stream?.Reader;

        /// <summary>Captures output (under the session's lock); true when it should also be streamed.</summary>
        public bool Output(ReadOnlySpan<byte> data)
        {
            if (_done.Task.IsCompleted || !IsStarted)
            {
                // Before the start marker it is not this command's output (what the shell printed
                // between commands, a background job's text while idle).
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
