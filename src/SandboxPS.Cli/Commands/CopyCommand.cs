using System.CommandLine;
using System.Diagnostics;
using SandboxPS.Core;
using SandboxPS.Core.Internal;

namespace SandboxPS.Cli.Commands;

internal static class CopyCommand
{
    public static Command Create(CliContext context)
    {
        var source = new Argument<string>("SRC") { Description = "Local path, or SANDBOX:PATH." };
        var destination = new Argument<string>("DST") { Description = "Local path, or SANDBOX:PATH." };
        var command = new Command("cp",
            "Copy a file or directory into or out of a sandbox (one side is SANDBOX:PATH). When the destination is an existing " +
            "directory the item lands inside it; otherwise it becomes the destination.\n\n" +
            "Examples:\n" +
            "  sandboxps cp ./src work:/tmp/project\n" +
            "  sandboxps cp work:/tmp/project/out.log ./out.log");
        command.Arguments.Add(source);
        command.Arguments.Add(destination);
        command.SetAction(CliContext.Guard(context, async (parse, output, ct) =>
        {
            var src = parse.GetValue(source)!;
            var dst = parse.GetValue(destination)!;
            var srcRemote = SplitRemote(src);
            var dstRemote = SplitRemote(dst);
            if ((srcRemote is null) == (dstRemote is null))
            {
                throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidCommandLine,
                    srcRemote is null
                        ? $"Neither '{src}' nor '{dst}' names a sandbox path: one side must be SANDBOX:PATH."
                        : "Both sides name a sandbox path: copy between sandboxes through a local directory.", "SRC")
                {
                    RecommendedAction = "Example: sandboxps cp ./file.txt work:/tmp/file.txt",
                };
            }
            var clock = Stopwatch.StartNew();
            if (dstRemote is { } to)
            {
                var sandbox = await context.ResolveRunningAsync(to.Sandbox, ct).ConfigureAwait(false);
                var client = await context.Manager.GetClientAsync(sandbox, ct).ConfigureAwait(false);
                var result = await client.CopyToSandboxAsync(src, to.Path, ct).ConfigureAwait(false);
                if (output.Json)
                {
                    output.WriteJson(new CopyView(sandbox.Id, sandbox.Name, "to", src, dst, result.Bytes, result.Entries));
                }
                else
                {
                    output.Line($"{src} -> {sandbox.Name}:{to.Path} ({Count(result.Entries, "entry", "entries")}, {Count(result.Bytes, "byte", "bytes")})");
                }
            }
            else
            {
                var from = srcRemote!.Value;
                var sandbox = await context.ResolveRunningAsync(from.Sandbox, ct).ConfigureAwait(false);
                var client = await context.Manager.GetClientAsync(sandbox, ct).ConfigureAwait(false);
                var entries = await TarCopy.CopyFromSandboxAsync(client, from.Path, dst, ct).ConfigureAwait(false);
                if (output.Json)
                {
                    output.WriteJson(new CopyView(sandbox.Id, sandbox.Name, "from", src, dst, 0, entries));
                }
                else
                {
                    output.Line($"{sandbox.Name}:{from.Path} -> {dst} ({Count(entries, "entry", "entries")})");
                }
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    private static string Count(long n, string one, string many) => n == 1 ? $"1 {one}" : $"{n} {many}";

    /// <summary><c>SANDBOX:PATH</c> → (SANDBOX, PATH); null for a local path (no ':' before the first '/', or starting with . or /).</summary>
    internal static (string Sandbox, string Path)? SplitRemote(string text)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || text.StartsWith('.') || text.StartsWith('/'))
        {
            return null;
        }
        var sandbox = text[..colon];
        if (sandbox.Contains('/') || sandbox.Contains('\\'))
        {
            return null;
        }
        var path = text[(colon + 1)..];
        return (sandbox, path.Length == 0 ? "." : path);
    }
}
