using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SandboxPS.Protocol;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace SandboxPS.Server;

internal static class Program
{
    public static int Main(string[] args)
    {
        if (Environment.ProcessId == 1 && Environment.GetEnvironmentVariable(InitProcess.ChildMarker) != "1")
        {
            return InitProcess.Run(args);
        }
        ServerOptions options;
        try
        {
            options = ServerOptions.Parse(args);
        }
        catch (OptionException ex)
        {
            Console.Error.WriteLine("sandboxps-server: " + ex.Message);
            return 2;
        }
        if (options.Help)
        {
            Console.Out.Write(ServerOptions.Usage);
            return 0;
        }
        if (options.Version)
        {
            Console.Out.WriteLine(typeof(Program).Assembly.GetName().Version?.ToString(3));
            return 0;
        }
        try
        {
            return RunAsync(options).GetAwaiter().GetResult();
        }
        catch (StartupException ex)
        {
            Console.Error.WriteLine("sandboxps-server: " + ex.Message);
            return ex.ExitCode;
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine("sandboxps-server: cannot start: " + ex.Message);
            return 1;
        }
    }

    private static byte[] ReadToken(ServerOptions options)
    {
        string? token;
        if (options.TokenFile is not null)
        {
            try
            {
                token = File.ReadLines(options.TokenFile).FirstOrDefault()?.Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new StartupException(2, $"cannot read --token-file '{options.TokenFile}': {ex.Message}");
            }
        }
        else
        {
            token = Environment.GetEnvironmentVariable(ProtocolConstants.TokenEnvironmentVariable);
        }
        // Sessions and exec must never see the token: drop it from the environment we pass on,
        // and blank it in /proc/self/environ.
        Environment.SetEnvironmentVariable(ProtocolConstants.TokenEnvironmentVariable, null);
        Native.ScrubEnvironmentValue(ProtocolConstants.TokenEnvironmentVariable);
        if (string.IsNullOrEmpty(token))
        {
            throw new StartupException(2,
                $"no token: set the environment variable {ProtocolConstants.TokenEnvironmentVariable} or pass --token-file FILE.");
        }
        return Encoding.UTF8.GetBytes(token);
    }

    private static async Task<int> RunAsync(ServerOptions options)
    {
        var token = ReadToken(options);
        var workDir = options.WorkDir ?? Environment.CurrentDirectory;
        try
        {
            workDir = Path.GetFullPath(workDir);
            Directory.SetCurrentDirectory(workDir);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new StartupException(2, $"--workdir '{workDir}' is not a usable directory: {ex.Message}");
        }
        var state = new ServerState(options, token, workDir);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        // Our transport instead of Kestrel's socket transport: 64 KiB receives (see BulkSocketTransport).
        builder.Services.RemoveAll<IConnectionListenerFactory>();
        builder.Services.AddSingleton<IConnectionListenerFactory>(new BulkSocketTransportFactory());
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.AllowSynchronousIO = true;
            // Per route instead: JSON bodies get a cap, file and archive uploads are unbounded streams.
            k.Limits.MaxRequestBodySize = null;
            if (options.UnixSocket is { } socket)
            {
                if (File.Exists(socket) && (File.GetAttributes(socket) & FileAttributes.Directory) == 0)
                {
                    File.Delete(socket);
                }
                k.ListenUnixSocket(socket, l => l.Protocols = HttpProtocols.Http1);
            }
            else
            {
                var ip = options.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.Host);
                k.Listen(ip, options.Port, l => l.Protocols = HttpProtocols.Http1);
            }
        });
        var app = builder.Build();
        app.Run(ctx => Router.HandleAsync(ctx, state));
        try
        {
            await app.StartAsync();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            throw new StartupException(1, $"cannot listen: {ex.Message}");
        }

        string listening;
        if (options.UnixSocket is { } path)
        {
            File.SetUnixFileMode(path, options.UnixMode);
            listening = "unix:" + Path.GetFullPath(path);
        }
        else
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            listening = address.Replace("://[::]", "://127.0.0.1").Replace("://localhost", "://127.0.0.1");
        }
        var stdout = Console.OpenStandardOutput();
        var line = Encoding.UTF8.GetBytes($"{{\"listening\":\"{listening}\",\"pid\":{Environment.ProcessId}}}\n");
        stdout.Write(line);
        stdout.Flush();

        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; state.Stopping.Cancel(); });
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGINT, ctx => { ctx.Cancel = true; state.Stopping.Cancel(); });

        await Lifecycle.WaitForEndAsync(state);
        state.Sessions.DisposeAll();
        using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await app.StopAsync(stopTimeout.Token);
        }
        catch (OperationCanceledException)
        {
        }
        if (options.UnixSocket is { } s)
        {
            try
            {
                File.Delete(s);
            }
            catch (IOException)
            {
            }
        }
        return 0;
    }
}

internal sealed class StartupException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Ends the server at --ttl, after --idle-timeout without requests, or when asked to stop.</summary>
internal static class Lifecycle
{
    public static async Task WaitForEndAsync(ServerState state)
    {
        var stopping = state.Stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            var now = DateTimeOffset.UtcNow;
            DateTimeOffset? deadline = state.ExpiresAt;
            if (state.Options.IdleTimeout is { } idle)
            {
                var idleEnd = Volatile.Read(ref state.ActiveRequests) > 0 ? now + idle : state.LastActivityAt + idle;
                deadline = deadline is null || idleEnd < deadline ? idleEnd : deadline;
            }
            if (deadline is null)
            {
                await Task.Delay(Timeout.Infinite, stopping).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }
            if (deadline <= now)
            {
                return;
            }
            var wait = deadline.Value - now;
            await Task.Delay(wait < TimeSpan.FromMilliseconds(20) ? TimeSpan.FromMilliseconds(20) : wait, stopping)
                .ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
