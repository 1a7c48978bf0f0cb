using System.Runtime.InteropServices;
using System.Text;

namespace SandboxPS.Server;

/// <summary>
/// libc calls the BCL does not offer (pseudo-terminals, process groups, signals, waitpid, posix_spawn).
/// Linked statically (DirectPInvoke); constants are Linux x86-64/aarch64 glibc values.
/// </summary>
internal static unsafe partial class Native
{
    public const int O_RDONLY = 0;
    public const int O_RDWR = 2;
    public const int O_NOCTTY = 0x100;
    public const int O_CLOEXEC = 0x80000;

    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    public const int WNOHANG = 1;
    public const int EINTR = 4;
    public const int ECHILD = 10;

    private const short POSIX_SPAWN_SETSIGDEF = 0x04;
    private const short POSIX_SPAWN_SETSIGMASK = 0x08;
    private const short POSIX_SPAWN_SETSID = 0x80;

    // termios flags
    private const uint IXON = 0x400, IXOFF = 0x1000, IUTF8 = 0x4000;
    private const uint OPOST = 0x1;
    private const uint ECHO = 0x8, ECHOE = 0x10, ECHOK = 0x20, ECHONL = 0x40, ECHOCTL = 0x200, ECHOKE = 0x800;
    private const int TIOCSWINSZ = 0x5414;

    [DllImport("libc", SetLastError = true)] public static extern int posix_openpt(int flags);
    [DllImport("libc", SetLastError = true)] public static extern int grantpt(int fd);
    [DllImport("libc", SetLastError = true)] public static extern int unlockpt(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int ptsname_r(int fd, byte* buf, nuint len);
    [DllImport("libc", SetLastError = true)] public static extern int open(byte* path, int flags, int mode);
    [DllImport("libc", SetLastError = true)] public static extern int close(int fd);
    [DllImport("libc", SetLastError = true)] public static extern nint read(int fd, byte* buf, nint count);
    [DllImport("libc", SetLastError = true)] public static extern nint write(int fd, byte* buf, nint count);
    [DllImport("libc", SetLastError = true)] private static extern int tcgetattr(int fd, byte* termios);
    [DllImport("libc", SetLastError = true)] private static extern int tcsetattr(int fd, int action, byte* termios);
    [DllImport("libc", SetLastError = true)] private static extern int ioctl(int fd, nuint request, void* arg);
    [DllImport("libc", SetLastError = true)] public static extern int tcgetpgrp(int fd);
    [DllImport("libc", SetLastError = true)] public static extern int kill(int pid, int sig);
    [DllImport("libc", SetLastError = true)] public static extern int waitpid(int pid, int* status, int options);
    [DllImport("libc")] public static extern int getpid();
    [DllImport("libc")] public static extern uint geteuid();
    [DllImport("libc", SetLastError = true)] public static extern int pipe2(int* fds, int flags);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawn_file_actions_init(void* fa);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawn_file_actions_destroy(void* fa);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawn_file_actions_adddup2(void* fa, int fd, int newfd);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawn_file_actions_addopen(void* fa, int fd, byte* path, int flags, int mode);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawn_file_actions_addchdir_np(void* fa, byte* path);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawn_file_actions_addclosefrom_np(void* fa, int from);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawnattr_init(void* attr);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawnattr_destroy(void* attr);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawnattr_setflags(void* attr, short flags);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawnattr_setsigdefault(void* attr, void* sigset);
    [DllImport("libc", SetLastError = true)] private static extern int posix_spawnattr_setsigmask(void* attr, void* sigset);
    [DllImport("libc", SetLastError = true)] private static extern int sigemptyset(void* set);
    [DllImport("libc", SetLastError = true)] private static extern int sigfillset(void* set);
    [DllImport("libc", SetLastError = true)] private static extern int sigdelset(void* set, int sig);

    public static string Errno(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>Opens a pseudo-terminal pair; returns the master fd (close-on-exec) and the slave's path.</summary>
    public static (int Master, string SlavePath) OpenPty()
    {
        int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
        {
            throw new IOException($"posix_openpt failed: {Errno(Marshal.GetLastPInvokeError())}");
        }
        byte* name = stackalloc byte[256];
        if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, 256) != 0)
        {
            int err = Marshal.GetLastPInvokeError();
            close(master);
            throw new IOException($"cannot set up the pseudo-terminal: {Errno(err)}");
        }
        return (master, Marshal.PtrToStringUTF8((nint)name)!);
    }

    private const uint ICRNL = 0x100, ISIG = 0x1, ICANON = 0x2, NOFLSH = 0x80, IEXTEN = 0x8000;
    private const int CcOffset = 17, VINTR = 0, VEOF = 4, VTIME = 5, VMIN = 6;

    /// <summary>Opens the terminal's slave side without making it our controlling terminal.</summary>
    public static int OpenSlave(string slavePath)
    {
        fixed (byte* p = NullTerminated(slavePath))
        {
            int fd = open(p, O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
            if (fd < 0)
            {
                throw new IOException($"cannot open {slavePath}: {Errno(Marshal.GetLastPInvokeError())}");
            }
            return fd;
        }
    }

    /// <summary>
    /// Puts the terminal the way a program driving it wants: no echo, no output translation (bytes
    /// pass unchanged), no XON/XOFF, canonical input and signals (Ctrl-C → SIGINT, Ctrl-D = EOF).
    /// Cheap when nothing changed (one tcgetattr); also repairs what a killed full-screen or raw-mode
    /// program left behind.
    /// </summary>
    public static void EnsureTerminalModes(int slaveFd)
    {
        byte* t = stackalloc byte[128];
        if (tcgetattr(slaveFd, t) != 0)
        {
            return;
        }
        uint* flags = (uint*)t;
        uint iflag = (flags[0] & ~(IXON | IXOFF)) | IUTF8 | ICRNL;
        uint oflag = flags[1] & ~OPOST;
        // NOFLSH: Ctrl-C must not flush the output the command printed that we have not read yet
        // (the pty drops it); stale input is flushed explicitly instead (FlushInput).
        uint lflag = (flags[3] & ~(ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOKE)) | ISIG | ICANON | IEXTEN | NOFLSH;
        byte* cc = t + CcOffset;
        if (iflag == flags[0] && oflag == flags[1] && lflag == flags[3] && cc[VINTR] == 3 && cc[VEOF] == 4 && cc[VMIN] == 1 && cc[VTIME] == 0)
        {
            return;
        }
        flags[0] = iflag;
        flags[1] = oflag;
        flags[3] = lflag;
        cc[VINTR] = 3;
        cc[VEOF] = 4;
        cc[VMIN] = 1;
        cc[VTIME] = 0;
        if (tcsetattr(slaveFd, 0, t) != 0)
        {
            throw new IOException($"tcsetattr failed: {Errno(Marshal.GetLastPInvokeError())}");
        }
    }

    [DllImport("libc", SetLastError = true)] private static extern int tcflush(int fd, int queueSelector);

    /// <summary>Discards terminal input nobody has read yet (input a finished command left, a stale recovery line).</summary>
    public static void FlushInput(int slaveFd) => tcflush(slaveFd, 0 /* TCIFLUSH */);

    public static void SetWindowSize(int fd, ushort rows, ushort cols)
    {
        ushort* ws = stackalloc ushort[4];
        ws[0] = rows;
        ws[1] = cols;
        ws[2] = 0;
        ws[3] = 0;
        ioctl(fd, TIOCSWINSZ, ws);
    }

    /// <summary>(read end, write end), both close-on-exec.</summary>
    public static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC) != 0)
        {
            throw new IOException($"pipe2 failed: {Errno(Marshal.GetLastPInvokeError())}");
        }
        return (fds[0], fds[1]);
    }

    /// <summary>Writes all of <paramref name="data"/>, retrying on EINTR; false when the fd is gone.</summary>
    public static bool WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = write(fd, p + done, data.Length - done);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == EINTR)
                    {
                        continue;
                    }
                    return false;
                }
                done += (int)n;
            }
        }
        return true;
    }

    /// <summary>
    /// Starts <paramref name="path"/> as the leader of a new session (setsid), with signal dispositions
    /// reset and an empty signal mask, the given fds (child fd ← parent fd or path) and working directory.
    /// </summary>
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env, string? cwd,
        IReadOnlyList<(int ChildFd, int ParentFd)> dups, IReadOnlyList<(int ChildFd, string Path)> opens, bool newSession, int closeFrom = -1)
    {
        var handles = new List<nint>();
        byte* fa = stackalloc byte[512];
        byte* attr = stackalloc byte[1024];
        byte* sigs = stackalloc byte[256];
        posix_spawn_file_actions_init(fa);
        posix_spawnattr_init(attr);
        try
        {
            foreach (var (childFd, p) in opens)
            {
                int rc = posix_spawn_file_actions_addopen(fa, childFd, Alloc(p, handles), O_RDWR, 0);
                if (rc != 0) throw new IOException($"posix_spawn_file_actions_addopen: {Errno(rc)}");
            }
            foreach (var (childFd, parentFd) in dups)
            {
                int rc = posix_spawn_file_actions_adddup2(fa, parentFd, childFd);
                if (rc != 0) throw new IOException($"posix_spawn_file_actions_adddup2: {Errno(rc)}");
            }
            if (closeFrom >= 0)
            {
                // Descriptors the server inherited without close-on-exec (from whoever started it)
                // are not the child's business.
                int rc = posix_spawn_file_actions_addclosefrom_np(fa, closeFrom);
                if (rc != 0) throw new IOException($"posix_spawn_file_actions_addclosefrom_np: {Errno(rc)}");
            }
            if (cwd is not null)
            {
                int rc = posix_spawn_file_actions_addchdir_np(fa, Alloc(cwd, handles));
                if (rc != 0) throw new IOException($"posix_spawn_file_actions_addchdir_np: {Errno(rc)}");
            }
            sigfillset(sigs);
            sigdelset(sigs, SIGKILL);
            sigdelset(sigs, 19 /* SIGSTOP */);
            posix_spawnattr_setsigdefault(attr, sigs);
            sigemptyset(sigs + 128);
            posix_spawnattr_setsigmask(attr, sigs + 128);
            posix_spawnattr_setflags(attr, (short)(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (newSession ? POSIX_SPAWN_SETSID : 0)));

            byte** av = stackalloc byte*[argv.Count + 1];
            for (int i = 0; i < argv.Count; i++) av[i] = Alloc(argv[i], handles);
            av[argv.Count] = null;
            byte** ev = (byte**)Marshal.AllocHGlobal((env.Count + 1) * sizeof(nint));
            handles.Add((nint)ev);
            for (int i = 0; i < env.Count; i++) ev[i] = Alloc(env[i], handles);
            ev[env.Count] = null;

            int pid;
            int err = posix_spawn(&pid, Alloc(path, handles), fa, attr, av, ev);
            if (err != 0)
            {
                throw new SpawnException(err, $"cannot start {path}: {Errno(err)}");
            }
            return pid;
        }
        finally
        {
            posix_spawn_file_actions_destroy(fa);
            posix_spawnattr_destroy(attr);
            foreach (var h in handles) Marshal.FreeHGlobal(h);
        }
    }

    private static byte* Alloc(string s, List<nint> handles)
    {
        var bytes = NullTerminated(s);
        var p = Marshal.AllocHGlobal(bytes.Length);
        handles.Add(p);
        Marshal.Copy(bytes, 0, p, bytes.Length);
        return (byte*)p;
    }

    public static byte[] NullTerminated(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    /// <summary>Blocks until <paramref name="pid"/> ends; returns a shell-style exit code (128+signal when killed).</summary>
    public static int WaitForExit(int pid)
    {
        int status;
        while (true)
        {
            int r = waitpid(pid, &status, 0);
            if (r == pid)
            {
                return DecodeStatus(status);
            }
            if (r < 0 && Marshal.GetLastPInvokeError() != EINTR)
            {
                return -1;
            }
        }
    }

    public static int DecodeStatus(int status)
    {
        int sig = status & 0x7f;
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig;
    }

    /// <summary>Reaps any child; returns (pid, exit code) or (-1, errno) / (0, 0) with WNOHANG.</summary>
    public static (int Pid, int Code) WaitAny(bool block)
    {
        int status = 0;
        int r = waitpid(-1, &status, block ? 0 : WNOHANG);
        if (r < 0)
        {
            return (-1, Marshal.GetLastPInvokeError());
        }
        return (r, r == 0 ? 0 : DecodeStatus(status));
    }
}

internal sealed class SpawnException(int errno, string message) : IOException(message)
{
    public int Errno { get; } = errno;
}

internal static unsafe partial class Native
{
    [DllImport("libc")] private static extern byte* getenv(byte* name);

    /// <summary>
    /// Overwrites an environment variable's value in the process's original environment block, so
    /// /proc/PID/environ (readable by sessions running as the same user) no longer shows it.
    /// </summary>
    public static void ScrubEnvironmentValue(string name)
    {
        fixed (byte* n = NullTerminated(name))
        {
            byte* v = getenv(n);
            if (v is null)
            {
                return;
            }
            for (byte* p = v; *p != 0; p++)
            {
                *p = (byte)'x';
            }
        }
    }
}

internal static unsafe partial class Native
{
    [DllImport("libc", SetLastError = true)] private static extern nint getrandom(byte* buf, nuint len, uint flags);

    /// <summary>
    /// Random bytes from the kernel. Never RandomNumberGenerator here: in this static binary it would
    /// dlopen OpenSSL into a statically linked glibc process and corrupt memory.
    /// </summary>
    public static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        fixed (byte* p = bytes)
        {
            int done = 0;
            while (done < count)
            {
                nint n = getrandom(p + done, (nuint)(count - done), 0);
                if (n <= 0)
                {
                    if (Marshal.GetLastPInvokeError() == EINTR) continue;
                    throw new IOException("getrandom failed: " + Errno(Marshal.GetLastPInvokeError()));
                }
                done += (int)n;
            }
        }
        return bytes;
    }

    public static string RandomHex(int bytes) => Convert.ToHexString(RandomBytes(bytes)).ToLowerInvariant();
}

/// <summary>
/// A file descriptor that closes only when no call is using it: Use() takes a reference, so a
/// session being deleted can never let its fd number be reused under a concurrent write.
/// </summary>
internal sealed class Fd : System.Runtime.InteropServices.SafeHandle
{
    public Fd(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle == -1;

    protected override bool ReleaseHandle() => Native.close((int)handle) == 0;

    /// <summary>Runs <paramref name="action"/> with the raw fd; false when the fd is already closed.</summary>
    public bool Use(Func<int, bool> action)
    {
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            return action((int)handle);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }
}

internal static unsafe partial class Native
{
    public const int S_IFMT = 0xF000, S_IFIFO = 0x1000, S_IFCHR = 0x2000, S_IFDIR = 0x4000, S_IFBLK = 0x6000, S_IFREG = 0x8000, S_IFSOCK = 0xC000;
    private const int AT_FDCWD = -100;
    private const uint STATX_TYPE = 1;

    [DllImport("libc", SetLastError = true)] private static extern int statx(int dirfd, byte* path, int flags, uint mask, byte* buf);

    /// <summary>
    /// The file type bits (<c>S_IFMT</c>) of <paramref name="path"/>, symlinks followed, or the negated
    /// errno. statx because its layout is the same on every architecture (stat's is not).
    /// </summary>
    public static int FileType(string path)
    {
        byte* buf = stackalloc byte[256];
        fixed (byte* p = NullTerminated(path))
        {
            if (statx(AT_FDCWD, p, 0, STATX_TYPE, buf) != 0)
            {
                return -Marshal.GetLastPInvokeError();
            }
        }
        // struct statx: stx_mask u32, stx_blksize u32, stx_attributes u64, stx_nlink, stx_uid, stx_gid u32, stx_mode u16.
        return *(ushort*)(buf + 28) & S_IFMT;
    }

    public static string FileTypeName(int type) => type switch
    {
        S_IFIFO => "a FIFO (named pipe)",
        S_IFCHR => "a character device",
        S_IFBLK => "a block device",
        S_IFSOCK => "a socket",
        S_IFDIR => "a directory",
        _ => "not a regular file",
    };
}

internal static unsafe partial class Native
{
    private const short POLLIN = 1;

    [DllImport("libc", SetLastError = true)] private static extern int poll(int* fds, nuint nfds, int timeout);
    [DllImport("libc", SetLastError = true)] private static extern int waitid(int idtype, int id, byte* infop, int options);

    [DllImport("libc", SetLastError = true)] private static extern int rename(byte* from, byte* to);

    /// <summary>rename(2): atomically puts <paramref name="from"/> (a file, or a symlink itself, never followed) in place of <paramref name="to"/>.</summary>
    public static void Rename(string from, string to)
    {
        fixed (byte* f = NullTerminated(from))
        fixed (byte* t = NullTerminated(to))
        {
            if (rename(f, t) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"rename to '{to}' failed (errno {errno})", errno);
            }
        }
    }

    /// <summary>True when <paramref name="fd"/> has something to read right now (poll with no wait).</summary>
    public static bool HasInput(int fd)
    {
        int* fds = stackalloc int[2];
        fds[0] = fd;
        fds[1] = POLLIN;
        return poll(fds, 1, 0) > 0 && ((fds[1] >> 16) & POLLIN) != 0;
    }

    /// <summary>
    /// Blocks until <paramref name="fd"/> is readable (or hung up) or <paramref name="wake"/> is;
    /// true for <paramref name="fd"/>, false when woken (or on an error other than EINTR).
    /// </summary>
    public static bool WaitReadable(int fd, int wake)
    {
        int* fds = stackalloc int[4];
        while (true)
        {
            // struct pollfd { int fd; short events; short revents; }
            fds[0] = fd;
            fds[1] = POLLIN;
            fds[2] = wake;
            fds[3] = POLLIN;
            int r = poll(fds, 2, -1);
            if (r < 0)
            {
                if (Marshal.GetLastPInvokeError() == EINTR)
                {
                    continue;
                }
                return false;
            }
            if ((fds[3] >> 16) != 0)
            {
                return false;
            }
            if ((fds[1] >> 16) != 0)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// Blocks until <paramref name="pid"/> has exited but leaves it unreaped (a zombie), so its pid
    /// (and the session id it led) cannot be reused while we clean up after it.
    /// </summary>
    public static void WaitExitedNoReap(int pid)
    {
        byte* info = stackalloc byte[128];
        while (waitid(1 /* P_PID */, pid, info, 4 /* WEXITED */ | 0x01000000 /* WNOWAIT */) != 0)
        {
            if (Marshal.GetLastPInvokeError() != EINTR)
            {
                return;
            }
        }
    }
}
