using System.Formats.Tar;
using System.Net;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Internal;

/// <summary>
/// File and directory copies in and out of a sandbox as tar streams (System.Formats.Tar). The upload writes
/// the tar straight into the request body as it walks the tree (the tree exactly: links are sent as links,
/// never followed). The download is extracted by <see cref="ArchiveExtractor"/>, which treats the archive as
/// hostile and puts the result in place only once all of it arrived and passed.
/// </summary>
internal static class TarCopy
{
    public static async Task<WriteResponse> CopyToSandboxAsync(SandboxClient client, string localPath, string remotePath, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(localPath);
        ArgumentException.ThrowIfNullOrEmpty(remotePath);
        var source = Path.GetFullPath(localPath);
        if (source.Length > 1)
        {
            source = Path.TrimEndingDirectorySeparator(source);
        }
        var kind = HostFileSystem.KindOf(source);
        if (kind == HostFileSystem.Kind.Missing)
        {
            throw new SandboxException(SandboxErrorKind.NotFound, SandboxErrorIds.LocalPathNotFound,
                $"The local path '{localPath}' does not exist.", localPath);
        }
        // The path the user names is followed when it is a link (its content is what they mean, as `cp -H`);
        // links inside the tree are sent as links. A dangling link is sent as the link.
        var packFrom = source;
        if (kind == HostFileSystem.Kind.Symlink && ResolveFinal(source) is { } resolved)
        {
            packFrom = resolved;
            kind = HostFileSystem.KindOf(resolved);
        }
        if (kind == HostFileSystem.Kind.File && !HostFileSystem.IsRegularFile(packFrom))
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.LocalPathNotFound,
                $"The local path '{localPath}' is a FIFO, socket or device; a copy carries files, directories and symbolic links.", localPath);
        }

        var sourceName = Path.GetFileName(source);
        string destinationDirectory;
        string rootName;
        if (await IsRemoteDirectoryAsync(client, remotePath, ct).ConfigureAwait(false))
        {
            destinationDirectory = remotePath;
            rootName = sourceName;
        }
        else
        {
            var trimmed = remotePath.Length > 1 ? remotePath.TrimEnd('/') : remotePath;
            int slash = trimmed.LastIndexOf('/');
            destinationDirectory = slash < 0 ? "." : slash == 0 ? "/" : trimmed[..slash];
            rootName = slash < 0 ? trimmed : trimmed[(slash + 1)..];
        }
        if (rootName is "" or "." or "..")
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, ErrorIds.InvalidPath,
                $"'{remotePath}' cannot be a copy destination for '{localPath}'; name a directory or a new path.", remotePath);
        }

        using var content = new TarContent(packFrom, rootName, kind);
        try
        {
            return await client.SendProducedBodyAsync(HttpMethod.Put, "v1/archive?path=" + Uri.EscapeDataString(destinationDirectory),
                                                      content, "copy to sandbox", remotePath, ct).ConfigureAwait(false);
        }
        catch (Exception) when (content.Failure is { } failure)
        {
            // The request failed because reading the local tree did: that is the error to report.
            throw failure;
        }
    }

    private static string? ResolveFinal(string link)
    {
        try
        {
            var target = File.ResolveLinkTarget(link, returnFinalTarget: true);
            return target is { Exists: true } ? target.FullName : null;
        }
        catch (IOException)
        {
            return null;   // a loop: sent as the link it is
        }
    }

    private static async Task<bool> IsRemoteDirectoryAsync(SandboxClient client, string remotePath, CancellationToken ct)
    {
        try
        {
            var entry = await client.StatAsync(remotePath, ct).ConfigureAwait(false);
            return entry.Type == "directory";
        }
        catch (SandboxException ex) when (ex.Kind == SandboxErrorKind.NotFound)
        {
            return remotePath.EndsWith('/');
        }
    }

    /// <summary>Copies the sandbox item <paramref name="remotePath"/> to <paramref name="localPath"/>; returns the number of entries written.</summary>
    public static async Task<int> CopyFromSandboxAsync(SandboxClient client, string remotePath, string localPath, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(remotePath);
        ArgumentException.ThrowIfNullOrEmpty(localPath);
        // The archive's layout depends on what the item is (a directory's archive holds its content, anything
        // else's holds the one item), and an archive alone cannot tell "pkg" from a directory holding only "pkg".
        var item = await client.StatAsync(remotePath, ct).ConfigureAwait(false);
        if (item.Type is not ("directory" or "file" or "symlink"))
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, ErrorIds.InvalidPath,
                $"'{remotePath}' in the sandbox is a {item.Type}; a copy carries files, directories and symbolic links.", remotePath);
        }
        bool isDirectory = item.Type == "directory";
        UnixFileMode? rootMode = isDirectory && item.Mode > 0 ? (UnixFileMode)item.Mode : null;
        var tar = await client.DownloadArchiveAsync(remotePath, ct).ConfigureAwait(false);
        await using (tar.ConfigureAwait(false))
        {
            return await ArchiveExtractor.ExtractAsync(tar, remotePath, isDirectory, localPath, rootMode, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Extracts <paramref name="tarStream"/>, the archive of the sandbox item <paramref name="remotePath"/> (see <see cref="ArchiveExtractor"/>).</summary>
    public static Task<int> ExtractAsync(Stream tarStream, string remotePath, bool remoteIsDirectory, string localPath, CancellationToken ct) =>
        ArchiveExtractor.ExtractAsync(tarStream, remotePath, remoteIsDirectory, localPath, null, ct);

    /// <summary>Request content that writes a tar of a file or directory tree straight to the request stream.</summary>
    private sealed class TarContent : HttpContent
    {
        private readonly string _source;
        private readonly string _rootName;
        private readonly HostFileSystem.Kind _kind;

        public TarContent(string source, string rootName, HostFileSystem.Kind kind)
        {
            _source = source;
            _rootName = rootName;
            _kind = kind;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(ProtocolConstants.TarMediaType);
        }

        /// <summary>Set when reading the local tree failed (the request then fails too).</summary>
        public SandboxException? Failure { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true);
            await using (writer.ConfigureAwait(false))
            {
                await WriteAsync(writer, _source, _rootName, _kind, cancellationToken).ConfigureAwait(false);
            }
        }

        private async Task WriteAsync(TarWriter writer, string path, string name, HostFileSystem.Kind kind, CancellationToken ct)
        {
            switch (kind)
            {
                case HostFileSystem.Kind.Symlink:
                    {
                        var target = Local(path, () => new FileInfo(path).LinkTarget);
                        if (target is null)
                        {
                            return;   // gone meanwhile
                        }
                        await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, name)
                        {
                            LinkName = target,
                            Mode = (UnixFileMode)0x1ff,
                            ModificationTime = new DateTimeOffset(Local(path, () => new FileInfo(path).LastWriteTimeUtc), TimeSpan.Zero),
                        }, ct).ConfigureAwait(false);
                        return;
                    }
                case HostFileSystem.Kind.Directory:
                    {
                        var info = new DirectoryInfo(path);
                        var children = Local(path, () => info.EnumerateFileSystemInfos().Select(i => i.Name).Order(StringComparer.Ordinal).ToList());
                        await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, name + "/")
                        {
                            Mode = Local(path, () => HostFileSystem.IsUnix ? info.UnixFileMode : (UnixFileMode)0x1ed),
                            ModificationTime = new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero),
                        }, ct).ConfigureAwait(false);
                        foreach (var child in children)
                        {
                            var childPath = Path.Combine(path, child);
                            await WriteAsync(writer, childPath, name + "/" + child, HostFileSystem.KindOf(childPath), ct).ConfigureAwait(false);
                        }
                        return;
                    }
                case HostFileSystem.Kind.File:
                    {
                        // FIFOs, sockets and devices in the tree are left out, as the server leaves them out of its archives.
                        if (!HostFileSystem.IsRegularFile(path))
                        {
                            return;
                        }
                        var info = new FileInfo(path);
                        var data = Local(path, () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
                                                                     128 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan));
                        await using (data.ConfigureAwait(false))
                        {
                            var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
                            {
                                Mode = Local(path, () => HostFileSystem.IsUnix ? info.UnixFileMode : (UnixFileMode)0x1a4),
                                ModificationTime = new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero),
                                DataStream = new FixedLengthStream(data, data.Length, path, this),
                            };
                            await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
                        }
                        return;
                    }
                default:
                    return;   // removed while the tree was walked
            }
        }

        private T Local<T>(string path, Func<T> read)
        {
            try
            {
                return read();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw Fail(path, ex.Message, ex);
            }
        }

        internal SandboxException Fail(string path, string why, Exception? inner = null)
        {
            Failure = new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.LocalPathNotFound,
                $"Could not read '{path}' for the copy: {why} The sandbox keeps what it had (the upload is refused as a whole).", path, inner);
            return Failure;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>
    /// Exactly <c>length</c> bytes of a file, the size its tar header announces: a file that grows while it is sent
    /// is cut at that size (the archive stays well formed), one that shrinks fails the copy.
    /// </summary>
    private sealed class FixedLengthStream(Stream inner, long length, string path, TarContent owner) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        // TarWriter takes the size from a seekable stream; it only ever asks for the position it is at.
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => Seek(value, SeekOrigin.Begin);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer[..Limit(buffer.Length)]);
            return Advance(n, buffer.Length);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer[..Limit(buffer.Length)], cancellationToken).ConfigureAwait(false);
            return Advance(n, buffer.Length);
        }

        private int Limit(int requested) => (int)Math.Min(requested, length - _position);

        private int Advance(int n, int requested)
        {
            if (n == 0 && requested > 0 && _position < length)
            {
                throw owner.Fail(path, $"it shrank from {length} to {_position} bytes while it was being sent.");
            }
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            var target = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                _ => length + offset,
            };
            return target == _position ? _position : throw new NotSupportedException("The file data is read once, in order.");
        }

        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
