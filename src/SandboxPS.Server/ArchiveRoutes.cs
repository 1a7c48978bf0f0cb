using System.Formats.Tar;
using Microsoft.AspNetCore.Http;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>
/// Directories in and out as tar streams (PAX), written to and read from the HTTP bodies entry by
/// entry, never buffered whole. A directory's archive holds its contents (names relative to it); a
/// file's archive holds that one file under its own name. Modes, mtimes and symlinks are kept.
/// </summary>
internal static class ArchiveRoutes
{
    public static async Task<Reply> Download(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var path = PathResolver.Resolve(state, Api.RequiredQuery(ctx.Request, "path"));
        var root = FileRoutes.Entry(path) ?? throw new ApiException(404, ErrorIds.PathNotFound, $"'{path}' does not exist.");
        var response = ctx.Response;
        response.StatusCode = 200;
        response.ContentType = ProtocolConstants.TarMediaType;
        var ct = ctx.RequestAborted;
        await using var writer = new TarWriter(response.Body, TarEntryFormat.Pax, leaveOpen: true);
        if (root.Type == "directory")
        {
            await WriteTreeAsync(writer, path, "", ct);
        }
        else
        {
            await WriteEntryAsync(writer, path, Path.GetFileName(path), ct);
        }
        return Reply.Written;
    }

    private static async Task WriteTreeAsync(TarWriter writer, string dir, string prefix, CancellationToken ct)
    {
        List<string> children;
        try
        {
            children = Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal).ToList();
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }
        foreach (var child in children)
        {
            var name = prefix + Path.GetFileName(child);
            bool isDir = await WriteEntryAsync(writer, child, name, ct);
            if (isDir)
            {
                await WriteTreeAsync(writer, child, name + "/", ct);
            }
        }
    }

    /// <summary>Writes one entry; true when it was a (real, not symlinked) directory.</summary>
    private static async Task<bool> WriteEntryAsync(TarWriter writer, string path, string name, CancellationToken ct)
    {
        var fi = new FileInfo(path);
        var link = fi.LinkTarget;
        var mtime = new DateTimeOffset(fi.LastWriteTimeUtc, TimeSpan.Zero);
        if (link is not null)
        {
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = link, ModificationTime = mtime, Mode = (UnixFileMode)0x1ff }, ct);
            return false;
        }
        if ((fi.Attributes & FileAttributes.Directory) != 0)
        {
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, name + "/") { Mode = fi.UnixFileMode, ModificationTime = mtime }, ct);
            return true;
        }
        // FIFOs, sockets and devices are left out: opening a FIFO blocks, /dev/zero never ends.
        if (!fi.Exists || Native.FileType(path) != Native.S_IFREG)
        {
            return false;
        }
        FileStream data;
        try
        {
            data = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 128 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Sockets, fifos and unreadable files are left out rather than failing the whole archive.
            return false;
        }
        await using (data)
        {
            if (!data.CanSeek)
            {
                return false;
            }
            var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = fi.UnixFileMode, ModificationTime = mtime, DataStream = data };
            await writer.WriteEntryAsync(entry, ct);
        }
        return false;
    }

    public static async Task<Reply> Upload(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var dir = PathResolver.Resolve(state, Api.RequiredQuery(ctx.Request, "path"));
        if (File.Exists(dir))
        {
            throw new ApiException(400, ErrorIds.NotADirectory, $"'{dir}' is a file; PUT /v1/archive extracts into a directory.");
        }
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception ex)
        {
            throw FileErrors.Map(ex, dir);
        }
        var root = Path.GetFullPath(dir).TrimEnd('/') + "/";
        var ct = ctx.RequestAborted;
        long bytes = 0;
        int entries = 0;
        var dirModes = new List<(string Path, UnixFileMode Mode, DateTimeOffset MTime)>();
        var reader = new TarReader(new GuardedBodyStream(ctx.Request.Body), leaveOpen: true);
        // What is being written now, under a temporary name beside its final one: an entry appears
        // under its final name only once complete (a body cut short leaves nothing half-written).
        string? temp = null;
        try
        {
            while (await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes)
                {
                    continue;
                }
                var target = Target(root, entry.Name);
                if (target is null)
                {
                    continue;
                }
                CheckNoSymlinkOnTheWay(root, target, entry.Name);
                entries++;
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        if (new FileInfo(target).LinkTarget is not null || File.Exists(target))
                        {
                            File.Delete(target);
                        }
                        Directory.CreateDirectory(target);
                        dirModes.Add((target, entry.Mode, entry.ModificationTime));
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        CreateParent(root, target, entry.Name);
                        CheckNotADirectory(target, entry.Name);
                        temp = TempBeside(target);
                        await using (var fs = new FileStream(temp, new FileStreamOptions
                        {
                            Mode = FileMode.CreateNew,
                            Access = FileAccess.Write,
                            Options = FileOptions.Asynchronous,
                            BufferSize = 0,
                            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                        }))
                        {
                            long written = 0;
                            if (entry.DataStream is { } data)
                            {
                                var buffer = new byte[128 * 1024];
                                int n;
                                while ((n = await data.ReadAsync(buffer, ct)) > 0)
                                {
                                    await fs.WriteAsync(buffer.AsMemory(0, n), ct);
                                    written += n;
                                }
                            }
                            if (written != entry.Length)
                            {
                                // The tar reader ends a short entry quietly: the stream was cut inside it.
                                throw new ApiException(400, ErrorIds.InvalidArchive,
                                    $"The archive was cut short inside '{entry.Name}' ({written} of {entry.Length} bytes); nothing was written under that name.");
                            }
                            bytes += written;
                        }
                        File.SetUnixFileMode(temp, entry.Mode & (UnixFileMode)0xfff);
                        File.SetLastWriteTimeUtc(temp, entry.ModificationTime.UtcDateTime);
                        Native.Rename(temp, target);
                        temp = null;
                        break;
                    case TarEntryType.SymbolicLink:
                        CreateParent(root, target, entry.Name);
                        CheckNotADirectory(target, entry.Name);
                        temp = TempBeside(target);
                        File.CreateSymbolicLink(temp, entry.LinkName);
                        Native.Rename(temp, target);
                        temp = null;
                        break;
                    case TarEntryType.HardLink:
                        var source = Target(root, entry.LinkName)
                            ?? throw new ApiException(400, ErrorIds.InvalidArchive, $"Hard link '{entry.Name}' points outside the target.");
                        CheckNoSymlinkOnTheWay(root, source, entry.LinkName);
                        if (!File.Exists(source) || new FileInfo(source).LinkTarget is not null)
                        {
                            throw new ApiException(400, ErrorIds.InvalidArchive,
                                $"Hard link '{entry.Name}' points to '{entry.LinkName}', which is not a regular file extracted before it.");
                        }
                        CreateParent(root, target, entry.Name);
                        CheckNotADirectory(target, entry.Name);
                        temp = TempBeside(target);
                        File.Copy(source, temp);
                        Native.Rename(temp, target);
                        temp = null;
                        break;
                    default:
                        // Devices and fifos are not recreated (no privileges to expect in a sandbox).
                        entries--;
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException or ArgumentException)
        {
            throw new ApiException(400, ErrorIds.InvalidArchive, $"The tar stream is malformed: {ex.Message}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException && !ct.IsCancellationRequested && ex is not ApiException)
        {
            throw FileErrors.Map(ex, dir);
        }
        finally
        {
            if (temp is not null)
            {
                try
                {
                    File.Delete(temp);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                }
            }
            await reader.DisposeAsync();
        }
        // Directory modes last: a read-only directory must not stop its own contents from landing.
        foreach (var (path, mode, mtime) in Enumerable.Reverse(dirModes))
        {
            try
            {
                File.SetUnixFileMode(path, mode & (UnixFileMode)0xfff);
                Directory.SetLastWriteTimeUtc(path, mtime.UtcDateTime);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
        return Reply.Json(new WriteResponse { Path = dir, Bytes = bytes, Entries = entries }, ProtocolJsonContext.Default.WriteResponse, 201);
    }

    /// <summary>The entry's full path under root; null for the root itself; InvalidArchive when it escapes.</summary>
    private static string? Target(string root, string name)
    {
        var n = name.Replace('\\', '/');
        if (n.StartsWith('/') || n.Split('/').Any(part => part == ".."))
        {
            throw new ApiException(400, ErrorIds.InvalidArchive,
                $"The archive entry '{name}' would be written outside the target directory (absolute or '..').");
        }
        while (n.StartsWith("./", StringComparison.Ordinal))
        {
            n = n[2..];
        }
        n = n.TrimEnd('/');
        if (n.Length == 0 || n == ".")
        {
            return null;
        }
        var full = Path.GetFullPath(Path.Combine(root, n));
        if (!full.StartsWith(root, StringComparison.Ordinal))
        {
            throw new ApiException(400, ErrorIds.InvalidArchive, $"The archive entry '{name}' would be written outside the target directory.");
        }
        return full;
    }

    /// <summary>No parent of the entry (inside root) may be a symlink: writing through it could escape root.</summary>
    private static void CheckNoSymlinkOnTheWay(string root, string target, string name)
    {
        var parent = Path.GetDirectoryName(target);
        while (parent is not null && parent.Length >= root.Length && parent + "/" != root)
        {
            if (new FileInfo(parent).LinkTarget is not null)
            {
                throw new ApiException(400, ErrorIds.InvalidArchive,
                    $"The archive entry '{name}' would be written through the symlink '{parent}'.");
            }
            parent = Path.GetDirectoryName(parent);
        }
    }

    /// <summary>A non-directory entry cannot replace a directory (a symlink to one is replaced, not followed).</summary>
    private static void CheckNotADirectory(string target, string name)
    {
        if (new FileInfo(target).LinkTarget is null && Directory.Exists(target))
        {
            throw new ApiException(400, ErrorIds.InvalidArchive, $"The archive entry '{name}' is a file but '{target}' is a directory.");
        }
    }

    private static string TempBeside(string target) =>
        Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Native.RandomHex(4)}.sbx-tmp");

    /// <summary>Creates the entry's missing parents; a file in the way is the archive's fault (400 InvalidArchive).</summary>
    private static void CreateParent(string root, string target, string name)
    {
        var parent = Path.GetDirectoryName(target)!;
        if (FileErrors.FirstNonDirectory(parent) is { } blocker && blocker.Length >= root.Length - 1)
        {
            throw new ApiException(400, ErrorIds.InvalidArchive,
                $"The archive entry '{name}' needs '{blocker}' to be a directory, but it is a file.");
        }
        Directory.CreateDirectory(parent);
    }
}
