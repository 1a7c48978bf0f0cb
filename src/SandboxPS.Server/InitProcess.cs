using System.Collections;
using System.Runtime.InteropServices;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>
/// PID 1 duty (a container's entrypoint): run the real server as a child, reap every process that
/// is orphaned to us, forward SIGTERM/SIGINT/SIGHUP/SIGQUIT, and exit with the server's exit code.
/// </summary>
internal static class InitProcess
{
    public const string ChildMarker = "SANDBOXPS_INIT_CHILD";

    public static int Run(string[] args)
    {
        var self = Environment.ProcessPath ?? "/proc/self/exe";
        var env = new List<string>();
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env.Add($"{e.Key}={e.Value}");
        }
        env.Add(ChildMarker + "=1");
        int child;
        try
        {
            child = Native.Spawn(self, [self, .. args], env, null, [], [], newSession: false);
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"sandboxps-server: cannot start the server process: {ex.Message}");
            return 1;
        }
        Native.ScrubEnvironmentValue(ProtocolConstants.TokenEnvironmentVariable);
        var registrations = new List<PosixSignalRegistration>();
        foreach (var sig in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGHUP, PosixSignal.SIGQUIT })
        {
            registrations.Add(PosixSignalRegistration.Create(sig, ctx =>
            {
                ctx.Cancel = true;
                Native.kill(child, ctx.Signal switch
                {
                    PosixSignal.SIGTERM => Native.SIGTERM,
                    PosixSignal.SIGINT => Native.SIGINT,
                    PosixSignal.SIGHUP => Native.SIGHUP,
                    _ => 3,
                });
            }));
        }
        while (true)
        {
            var (pid, code) = Native.WaitAny(block: true);
            if (pid == child)
            {
                // Reap what is left without blocking, then end (the kernel kills the rest with us).
                while (Native.WaitAny(block: false).Pid > 0)
                {
                }
                GC.KeepAlive(registrations);
                return code;
            }
            if (pid < 0 && code == Native.ECHILD)
            {
                return 1;
            }
        }
    }
}
