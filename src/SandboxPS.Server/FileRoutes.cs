using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>Files: raw and text reads, streamed writes, stat, list, delete, and the editor.</summary>
internal static class FileRoutes
{
    private const long MaxTextBytes = 64L * 1024 * 1024;

    public static async Task<Reply> ReadRaw(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var path = PathResolver.Resolve(state, Api.RequiredQuery(ctx.Request, "path"));
        long offset = Api.QueryLong(ctx.Request, "offset") ?? 0;
        long? length = Api.QueryLong(ctx.Request, "length");
        FileStream fs;
        try
        {
            if (Directory.Exists(path))
            {
                throw new ApiException(400, ErrorIds.PathIsDirectory, $"'{path}' is a directory; use GET /v1/files/list or GET /v1/archive.");
            }
            RequireRegularFile(path, allowDevice: length is not null);
            fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is not ApiException)
        {
            throw FileErrors.Map(ex, path);
        }
        await using (fs)
        {
            var response = ctx.Response;
            response.StatusCode = 200;
            response.ContentType = "application/octet-stream";
            var buffer = new byte[128 * 1024];
            long size = fs.CanSeek ? fs.Length : 0;
            if (size == 0)
            {
                // /proc and /sys files report size 0 but have contents: stream to EOF (chunked).
                long skip = offset, left = length ?? long.MaxValue;
                int n;
                while (left > 0 && (n = await fs.ReadAsync(buffer, ctx.RequestAborted)) > 0)
                {
                    int from = (int)Math.Min(skip, n);
                    skip -= from;
                    int take = (int)Math.Min(n - from, left);
                    if (take > 0)
                    {
                        await response.Body.WriteAsync(buffer.AsMemory(from, take), ctx.RequestAborted);
                        left -= take;
                    }
                }
                return Reply.Written;
            }
            long start = Math.Min(offset, size);
            long count = Math.Min(length ?? long.MaxValue, size - start);
            fs.Position = start;
            response.ContentLength = count;
            long remaining = count;
            while (remaining > 0)
            {
                int n = await fs.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), ctx.RequestAborted);
                if (n == 0)
                {
                    break;
                }
                await response.Body.WriteAsync(buffer.AsMemory(0, n), ctx.RequestAborted);
                remaining -= n;
            }
        }
        return Reply.Written;
    }

    public static async Task<Reply> ReadText(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var path = PathResolver.Resolve(state, Api.RequiredQuery(ctx.Request, "path"));
        long? startQ = Api.QueryLong(ctx.Request, "startLine", 1);
        var endRaw = ctx.Request.Query["endLine"];
        long? endQ = endRaw.Count > 0 && endRaw[0] == "-1" ? null : Api.QueryLong(ctx.Request, "endLine", 1);
        var text = await ReadAllTextAsync(path);
        var lines = Lines.Split(text);
        int total = lines.Count;
        int start = (int)Math.Min(startQ ?? 1, int.MaxValue);
        int end = (int)Math.Min(endQ ?? total, total);
        if (startQ is not null && start > Math.Max(total, 1))
        {
            throw new ApiException(400, ErrorIds.EditInvalidRange, $"startLine {start} is past the end of '{path}' ({total} lines).");
        }
        if (end < start - 1)
        {
            throw new ApiException(400, ErrorIds.EditInvalidRange, $"endLine {end} is before startLine {start}.");
        }
        var content = string.Concat(lines.Skip(start - 1).Take(Math.Max(0, end - start + 1)));
        return Reply.Json(new FileTextResponse
        {
            Path = path,
            Content = content,
            StartLine = total == 0 ? 0 : start,
            EndLine = total == 0 ? 0 : end,
            TotalLines = total,
        }, ProtocolJsonContext.Default.FileTextResponse);
    }

    public static async Task<string> ReadAllTextAsync(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                throw new ApiException(400, ErrorIds.PathIsDirectory, $"'{path}' is a directory, not a file.");
            }
            RequireRegularFile(path, allowDevice: false);
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxTextBytes)
            {
                throw new ApiException(413, ErrorIds.InvalidRequest,
                    $"'{path}' has {info.Length} bytes; text reads stop at {MaxTextBytes}. Use GET /v1/files with offset and length.");
            }
            return await File.ReadAllTextAsync(path);
        }
        catch (Exception ex) when (ex is not ApiException)
        {
            throw FileErrors.Map(ex, path);
        }
    }

    /// <summary>
    /// Refuses FIFOs and sockets (opening or reading them blocks until some other process writes) and,
    /// unless <paramref name="allowDevice"/> (an explicit length), devices (/dev/zero never ends).
    /// Missing files pass: the open that follows reports them.
    /// </summary>
    private static void RequireRegularFile(string path, bool allowDevice)
    {
        int type = Native.FileType(path);
        if (type < 0 || type is Native.S_IFREG or Native.S_IFDIR)
        {
            return;
        }
        if (allowDevice && type is Native.S_IFCHR or Native.S_IFBLK)
        {
            return;
        }
        var hint = type is Native.S_IFCHR or Native.S_IFBLK
            ? " Pass length=N to GET /v1/files to read N bytes of a device."
            : " Read it with a command in a session instead (e.g. 'head -c N PATH'), which can be interrupted.";
        throw new ApiException(400, ErrorIds.NotARegularFile, $"'{path}' is {Native.FileTypeName(type)}, not a regular file.{hint}");
    }

    public static async Task<Reply> Write(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var path = PathResolver.Resolve(state, Api.RequiredQuery(ctx.Request, "path"));
        var modeText = ctx.Request.Query["mode"].FirstOrDefault();
        UnixFileMode? mode = null;
        if (!string.IsNullOrEmpty(modeText))
        {
            mode = ParseMode(modeText);
        }
        bool mkdirs = Api.QueryBool(ctx.Request, "mkdirs", true);
        bool overwrite = Api.QueryBool(ctx.Request, "overwrite", true);
        var target = FollowLinks(path);
        if (Directory.Exists(target))
        {
            throw new ApiException(400, ErrorIds.PathIsDirectory, $"'{path}' is a directory; a file cannot replace it.");
        }
        bool existed = File.Exists(target);
        if (existed && !overwrite)
        {
            throw new ApiException(409, ErrorIds.PathExists, $"'{path}' exists and overwrite=false.");
        }
        var dir = Path.GetDirectoryName(target) ?? "/";
        long bytes = 0;
        string? temp = null;
        try
        {
            if (!Directory.Exists(dir))
            {
                if (FileErrors.FirstNonDirectory(dir) is { } blocker)
                {
                    throw new ApiException(400, ErrorIds.NotADirectory,
                        $"'{blocker}' is a file, so '{path}' cannot be created under it.");
                }
                if (!mkdirs)
                {
                    throw new ApiException(404, ErrorIds.PathNotFound, $"The directory '{dir}' does not exist (mkdirs=false).");
                }
                Directory.CreateDirectory(dir);
            }
            temp = Path.Combine(dir, $".{Path.GetFileName(target)}.{Native.RandomHex(4)}.sbx-tmp");
            var fileMode = mode ?? (existed ? File.GetUnixFileMode(target) : (UnixFileMode)0b110_100_100);
            bytes = await WriteBodyAsync(ctx, temp);
            File.SetUnixFileMode(temp, fileMode);
            if (!overwrite && File.Exists(target))
            {
                throw new ApiException(409, ErrorIds.PathExists, $"'{path}' appeared while uploading and overwrite=false.");
            }
            var replaced = HoldLargeFile(target);
            try
            {
                File.Move(temp, target, overwrite: true);
                temp = null;
            }
            finally
            {
                ReleaseInBackground(replaced);
            }
        }
        catch (Exception ex) when (ex is not (ApiException or BadHttpRequestException) && !ctx.RequestAborted.IsCancellationRequested)
        {
            throw FileErrors.Map(ex, path);
        }
        finally
        {
            if (temp is not null)
            {
                TryDelete(temp);
            }
        }
        state.Editor.Forget(target);
        return Reply.Json(new WriteResponse { Path = path, Bytes = bytes, Entries = 1 }, ProtocolJsonContext.Default.WriteResponse, 201);
    }

    /// <summary>
    /// Streams the request body into a new file: the body's buffers go to the kernel as they are (one
    /// pwritev per ≥ 256 KiB, no copy into a buffer of ours) and synchronously, since a write to the page
    /// cache takes microseconds while an async file write is a thread-pool hop per call.
    /// </summary>
    private static async Task<long> WriteBodyAsync(HttpContext ctx, string temp)
    {
        using var file = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            BufferSize = 0,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        var handle = file.SafeFileHandle;
        var reader = ctx.Request.BodyReader;
        var gather = new List<ReadOnlyMemory<byte>>(64);
        long offset = 0;
        while (true)
        {
            System.IO.Pipelines.ReadResult result;
            try
            {
                result = await reader.ReadAtLeastAsync(WriteBatchBytes, ctx.RequestAborted);
            }
            catch (Exception ex)
            {
                throw RequestBody.Failure(ex);
            }
            var buffer = result.Buffer;
            if (buffer.IsSingleSegment)
            {
                RandomAccess.Write(handle, buffer.FirstSpan, offset);
            }
            else
            {
                gather.Clear();
                long at = offset;
                foreach (var segment in buffer)
                {
                    gather.Add(segment);
                    if (gather.Count == MaxGather)
                    {
                        RandomAccess.Write(handle, gather, at);
                        at += Length(gather);
                        gather.Clear();
                    }
                }
                if (gather.Count > 0)
                {
                    RandomAccess.Write(handle, gather, at);
                }
            }
            offset += buffer.Length;
            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                return offset;
            }
        }
    }

    private const long LargeFileBytes = 8L * 1024 * 1024;
    private const int O_PATH = 0x200000;
    private const int O_NOFOLLOW = 0x20000;

    /// <summary>
    /// An O_PATH descriptor on a large file about to be replaced (-1 if none). While it is open, the rename
    /// over the file does not free the old file's pages and blocks: that costs ~110-180 ms per 100 MiB on
    /// ext4 here, more than the rest of the rename, and is done after the answer instead.
    /// </summary>
    private static unsafe int HoldLargeFile(string target)
    {
        try
        {
            var info = new FileInfo(target);
            if (!info.Exists || info.Length < LargeFileBytes)
            {
                return -1;
            }
        }
        catch (IOException)
        {
            return -1;
        }
        var bytes = Encoding.UTF8.GetBytes(target + "\0");
        fixed (byte* p = bytes)
        {
            return Native.open(p, O_PATH | O_NOFOLLOW | Native.O_CLOEXEC, 0);
        }
    }

    private static void ReleaseInBackground(int fd)
    {
        if (fd < 0)
        {
            return;
        }
        // Its own thread: the close frees the old file, and a thread-pool thread blocked that long
        // would hold up requests on a 2-core machine.
        new Thread(() => Native.close(fd)) { IsBackground = true, Name = "sbx-release" }.Start();
    }

    private const int WriteBatchBytes = 256 * 1024;

    /// <summary>Buffers per pwritev, well under the kernel's IOV_MAX (1024).</summary>
    private const int MaxGather = 256;

    private static long Length(List<ReadOnlyMemory<byte>> buffers)
    {
        long total = 0;
        foreach (var b in buffers)
        {
            total += b.Length;
        }
        return total;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception)
        {
        }
    }

    /// <summary>"644", "0755", "0o600" → permission bits.</summary>
    public static UnixFileMode ParseMode(string text)
    {
        var t = text.StartsWith("0o", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        try
        {
            var value = Convert.ToInt32(t, 8);
            if (value is >= 0 and <= 0xfff)
            {
                return (UnixFileMode)value;
            }
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
        {
        }
        throw ApiException.BadRequest($"mode must be octal permission bits such as 644 or 0755; got '{text}'.");
    }

    /// <summary>The final target of a chain of symlinks (or the path itself).</summary>
    private static string FollowLinks(string path)
    {
        try
        {
            var fi = new FileInfo(path);
            if (fi.LinkTarget is not null)
            {
                var final = fi.ResolveLinkTarget(returnFinalTarget: true);
                if (final is not null)
                {
                    return final.FullName;
                }
            }
        }
        catch (IOException)
        {
        }
        return path;
    }

    public static Task<Reply> Delete(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var path = PathResolver.Resolve(state, Api.RequiredQuery(ctx.Request, "path"));
        bool recursive = Api.QueryBool(ctx.Request, "recursive", false);
        if (path == "/")
        {
            throw new ApiException(400, ErrorIds.InvalidPath, "Refusing to delete '/'.");
        }
        try
        {
            var fi = new FileInfo(path);
            if (fi.LinkTarget is not null || fi.Exists)
            {
                File.Delete(path);
            }
            else if (Directory.Exists(path))
            {
                if (!recursive && Directory.EnumerateFileSystemEntries(path).Any())
                {
                    throw new ApiException(409, ErrorIds.DirectoryNotEmpty,
                        $"The directory '{path}' is not empty; pass recursive=true to delete it with its contents.");
                }
                Directory.Delete(path, recursive);
            }
            else
            {
                throw new ApiException(404, ErrorIds.PathNotFound, $"'{path}' does not exist.");
            }
        }
        catch (Exception ex) when (ex is not ApiException)
        {
            throw FileErrors.Map(ex, path);
        }
        state.Editor.Forget(path);
        return Task.FromResult(Reply.NoContent);
    }

    public static Task<Reply> Stat(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var path = PathResolver.Resolve(state, Api.RequiredQuery(ctx.Request, "path"));
        var entry = Entry(path) ?? throw new ApiException(404, ErrorIds.PathNotFound, $"'{path}' does not exist.");
        return Task.FromResult(Reply.Json(entry, ProtocolJsonContext.Default.FileEntry));
    }

    public static Task<Reply> List(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var path = PathResolver.Resolve(state, Api.RequiredQuery(ctx.Request, "path"));
        if (!Directory.Exists(path))
        {
            throw File.Exists(path)
                ? new ApiException(400, ErrorIds.NotADirectory, $"'{path}' is a file, not a directory; use GET /v1/files/stat.")
                : new ApiException(404, ErrorIds.PathNotFound, $"'{path}' does not exist.");
        }
        try
        {
            var entries = Directory.EnumerateFileSystemEntries(path)
                .Select(Entry).Where(e => e is not null).Select(e => e!)
                .OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
            return Task.FromResult(Reply.Json(new FileListResponse(path, entries), ProtocolJsonContext.Default.FileListResponse));
        }
        catch (Exception ex)
        {
            throw FileErrors.Map(ex, path);
        }
    }

    /// <summary>lstat-style metadata; null when nothing is there.</summary>
    public static FileEntry? Entry(string path)
    {
        try
        {
            var fi = new FileInfo(path);
            var attrs = fi.Attributes;
            if ((int)attrs == -1)
            {
                return null;
            }
            string type;
            long size = 0;
            string? link = fi.LinkTarget;
            if (link is not null)
            {
                type = "symlink";
            }
            else if ((attrs & FileAttributes.Directory) != 0)
            {
                type = "directory";
            }
            else if (fi.Exists && Native.FileType(path) == Native.S_IFREG)
            {
                type = "file";
                size = fi.Length;
            }
            else
            {
                type = "other";
            }
            int mode = 0;
            try
            {
                mode = link is not null ? 0x1ff : (int)fi.UnixFileMode;
            }
            catch (Exception)
            {
            }
            return new FileEntry
            {
                Name = Path.GetFileName(path) is { Length: > 0 } n ? n : path,
                Path = path,
                Type = type,
                Size = size,
                Mode = mode,
                ModifiedAt = new DateTimeOffset(fi.LastWriteTimeUtc, TimeSpan.Zero),
                LinkTarget = link,
            };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static async Task<Reply> Edit(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var request = await Api.ReadJsonAsync(ctx.Request, ProtocolJsonContext.Default.EditRequest);
        var path = PathResolver.Resolve(state, request.Path);
        var response = await state.Editor.ApplyAsync(request, path);
        return Reply.Json(response, ProtocolJsonContext.Default.EditResponse);
    }
}

internal static class FileErrors
{
    /// <summary>The nearest existing ancestor-or-self of <paramref name="dir"/> when it is not a directory (a file in the way); else null.</summary>
    public static string? FirstNonDirectory(string dir)
    {
        for (var p = dir; !string.IsNullOrEmpty(p); p = Path.GetDirectoryName(p))
        {
            if (Directory.Exists(p))
            {
                return null;
            }
            if (File.Exists(p) || new FileInfo(p).LinkTarget is not null)
            {
                return p;
            }
        }
        return null;
    }

    public static ApiException Map(Exception ex, string path) => ex switch
    {
        ApiException a => a,
        FileNotFoundException or DirectoryNotFoundException => new ApiException(404, ErrorIds.PathNotFound, $"'{path}' does not exist."),
        UnauthorizedAccessException => new ApiException(403, ErrorIds.PermissionDenied, $"Permission denied on '{path}'."),
        IOException when ex.HResult == 30 || ex.Message.Contains("Read-only file system", StringComparison.Ordinal) =>
            new ApiException(403, ErrorIds.PermissionDenied, $"'{path}' is on a read-only file system."),
        PathTooLongException => new ApiException(400, ErrorIds.InvalidPath, $"The path '{path}' is too long."),
        // Unix errnos that are the caller's path, not the server (IOException.HResult carries the errno).
        IOException { HResult: 20 } => new ApiException(400, ErrorIds.NotADirectory, $"A part of '{path}' is not a directory."),
        IOException { HResult: 21 } => new ApiException(400, ErrorIds.PathIsDirectory, $"'{path}' is a directory."),
        IOException { HResult: 17 } => new ApiException(409, ErrorIds.PathExists, $"'{path}' exists."),
        IOException { HResult: 36 } => new ApiException(400, ErrorIds.InvalidPath, $"The path '{path}' (or a part of it) is too long."),
        IOException { HResult: 40 } => new ApiException(400, ErrorIds.InvalidPath, $"'{path}' has too many levels of symbolic links."),
        IOException { HResult: 39 } => new ApiException(409, ErrorIds.DirectoryNotEmpty, $"'{path}' is a non-empty directory."),
        _ => new ApiException(500, ErrorIds.InternalError, $"{ex.GetType().Name} on '{path}': {ex.Message}"),
    };
}

/// <summary>Line splitting that keeps each line's terminator, so joining gives the text back.</summary>
internal static class Lines
{
    public static List<string> Split(string text)
    {
        var lines = new List<string>();
        int start = 0;
        while (start < text.Length)
        {
            int nl = text.IndexOf('\n', start);
            if (nl < 0)
            {
                lines.Add(text[start..]);
                break;
            }
            lines.Add(text[start..(nl + 1)]);
            start = nl + 1;
        }
        return lines;
    }

    public static string WithoutTerminator(string line) =>
        line.EndsWith("\r\n", StringComparison.Ordinal) ? line[..^2] : line.EndsWith('\n') ? line[..^1] : line;
}
