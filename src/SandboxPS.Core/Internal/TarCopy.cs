using System.Formats.Tar;
using System.Net;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Internal;

/// <summary>
/// File and directory copies in and out of a sandbox as tar streams (System.Formats.Tar). The upload
/// writes the tar straight into the request body as it walks the tree; the download extracts entries as
/// they arrive. Nothing is staged in a temp file or buffered whole.
/// </summary>
internal static class TarCopy
{
    public static async Task<WriteResponse> CopyToSandboxAsync(SandboxClient client, string localPath, string remotePath, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(localPath);
        ArgumentException.ThrowIfNullOrEmpty(remotePath);
        var source = Path.GetFullPath(localPath);
        var sourceInfo = new FileInfo(source);
        bool isDirectory = Directory.Exists(source);
        if (!isDirectory && !sourceInfo.Exists)
        {
            throw new SandboxException(SandboxErrorKind.NotFound, SandboxErrorIds.LocalPathNotFound,
                $"The local path '{localPath}' does not exist.", localPath);
        }

        var sourceName = Path.GetFileName(source.TrimEnd('/'));
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
            if (rootName is "" or "." or "..")
            {
                throw new SandboxException(SandboxErrorKind.InvalidArgument, ErrorIds.InvalidPath,
                    $"'{remotePath}' cannot be a copy destination; name a directory or a new path.", remotePath);
            }
        }

        using var content = new TarContent(source, rootName, isDirectory);
        return await client.SendProducedBodyAsync(HttpMethod.Put, "v1/archive?path=" + Uri.EscapeDataString(destinationDirectory),
                                                  content, "copy to sandbox", remotePath, ct).ConfigureAwait(false);
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

    /// <summary>Extracts the sandbox's tar of <paramref name="remotePath"/>; returns the number of entries written.</summary>
    public static async Task<int> CopyFromSandboxAsync(SandboxClient client, string remotePath, string localPath, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(remotePath);
        ArgumentException.ThrowIfNullOrEmpty(localPath);
        await using var tarStream = await client.DownloadArchiveAsync(remotePath, ct).ConfigureAwait(false);
        return await ExtractAsync(tarStream, remotePath, localPath, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Extracts a tar of the sandbox item <paramref name="remotePath"/> to <paramref name="localPath"/> (inside it
    /// when it is an existing directory). Refuses absolute names, '..' escapes and writes through symlinks.
    /// </summary>
    public static async Task<int> ExtractAsync(Stream tarStream, string remotePath, string localPath, CancellationToken ct)
    {
        var remoteBase = Path.GetFileName(remotePath.TrimEnd('/'));
        var local = Path.GetFullPath(localPath);
        var targetRoot = Directory.Exists(local) && remoteBase is not ("" or "." or "..") ? Path.Combine(local, remoteBase) : local;
        targetRoot = Path.TrimEndingDirectorySeparator(targetRoot);
        using var reader = new TarReader(tarStream, leaveOpen: true);
        bool? rooted = null;
        int count = 0;
        var directoryModes = new List<(string Path, UnixFileMode Mode)>();
        try
        {
            while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
            {
                var name = entry.Name.Replace('\\', '/');
                while (name.StartsWith("./", StringComparison.Ordinal))
                {
                    name = name[2..];
                }
                name = name.TrimEnd('/');
                if (name is "" or ".")
                {
                    name = "";
                }
                if (name.StartsWith('/'))
                {
                    throw Escaping(entry.Name, targetRoot);
                }
                // The server names entries after the item itself (dir/, dir/a.txt) like tar -C parent item;
                // accept archives of the content (a.txt) too.
                rooted ??= name == remoteBase || (remoteBase.Length > 0 && name.StartsWith(remoteBase + "/", StringComparison.Ordinal));
                string relative;
                if (!rooted.Value)
                {
                    relative = name;
                }
                else if (name == remoteBase)
                {
                    relative = "";
                }
                else if (name.StartsWith(remoteBase + "/", StringComparison.Ordinal))
                {
                    relative = name[(remoteBase.Length + 1)..];
                }
                else
                {
                    throw Escaping(entry.Name, targetRoot);
                }
                var path = relative.Length == 0 ? targetRoot : Path.GetFullPath(Path.Combine(targetRoot, relative));
                if (path != targetRoot && !path.StartsWith(targetRoot + "/", StringComparison.Ordinal))
                {
                    throw Escaping(entry.Name, targetRoot);
                }
                EnsureNoLinkedAncestor(targetRoot, path, entry.Name);

                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        RemoveIfLink(path);
                        Directory.CreateDirectory(path);
                        directoryModes.Add((path, entry.Mode));
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        RemoveIfLink(path);
                        await entry.ExtractToFileAsync(path, overwrite: true, ct).ConfigureAwait(false);
                        break;
                    case TarEntryType.SymbolicLink:
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        DeleteAny(path);
                        File.CreateSymbolicLink(path, entry.LinkName);
                        break;
                    case TarEntryType.HardLink:
                        {
                            var linkTarget = Path.GetFullPath(Path.Combine(targetRoot, rooted.Value && entry.LinkName.StartsWith(remoteBase + "/", StringComparison.Ordinal)
                                ? entry.LinkName[(remoteBase.Length + 1)..] : entry.LinkName));
                            if (!linkTarget.StartsWith(targetRoot + "/", StringComparison.Ordinal))
                            {
                                throw Escaping(entry.LinkName, targetRoot);
                            }
                            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                            DeleteAny(path);
                            File.Copy(linkTarget, path);
                            break;
                        }
                    default:
                        continue; // devices, fifos, global headers: nothing to write
                }
                count++;
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException)
        {
            throw new SandboxException(SandboxErrorKind.Internal, SandboxErrorIds.InvalidArchive,
                $"The archive of '{remotePath}' from the sandbox is malformed: {ex.Message}", remotePath, ex);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException && ex is not EndOfStreamException)
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.LocalPathNotFound,
                $"Could not write '{localPath}': {ex.Message}", localPath, ex);
        }
        // Directory modes last, so a read-only directory does not block writing its own content.
        for (int i = directoryModes.Count - 1; i >= 0; i--)
        {
            if (!OperatingSystem.IsWindows() && directoryModes[i].Mode != 0)
            {
                File.SetUnixFileMode(directoryModes[i].Path, directoryModes[i].Mode | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.UserRead);
            }
        }
        return count;
    }

    private static SandboxException Escaping(string entryName, string root) =>
        new(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidArchive,
            $"Refused archive entry '{entryName}': it would be written outside '{root}'.", entryName);

    private static void EnsureNoLinkedAncestor(string root, string path, string entryName)
    {
        // A symlink written earlier in the same archive must not redirect later entries outside the root.
        var parent = Path.GetDirectoryName(path);
        while (parent is not null && parent.Length > root.Length && parent.StartsWith(root, StringComparison.Ordinal))
        {
            var info = new DirectoryInfo(parent);
            if (info.Exists && info.LinkTarget is not null)
            {
                throw Escaping(entryName, root);
            }
            parent = Path.GetDirectoryName(parent);
        }
    }

    private static void RemoveIfLink(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            info.Delete();
        }
    }

    private static void DeleteAny(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null || info.Exists)
        {
            info.Delete();
        }
        else if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    /// <summary>Request content that writes a tar of a file or directory tree straight to the request stream.</summary>
    private sealed class TarContent : HttpContent
    {
        private readonly string _source;
        private readonly string _rootName;
        private readonly bool _isDirectory;

        public TarContent(string source, string rootName, bool isDirectory)
        {
            _source = source;
            _rootName = rootName;
            _isDirectory = isDirectory;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(ProtocolConstants.TarMediaType);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await using var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true);
            await writer.WriteEntryAsync(_source, _rootName, cancellationToken).ConfigureAwait(false);
            if (_isDirectory)
            {
                await WriteTreeAsync(writer, _source, _rootName, cancellationToken).ConfigureAwait(false);
            }
        }

        private static async Task WriteTreeAsync(TarWriter writer, string directory, string prefix, CancellationToken ct)
        {
            foreach (var info in new DirectoryInfo(directory).EnumerateFileSystemInfos().OrderBy(i => i.Name, StringComparer.Ordinal))
            {
                var entryName = prefix + "/" + info.Name;
                await writer.WriteEntryAsync(info.FullName, entryName, ct).ConfigureAwait(false);
                if (info is DirectoryInfo && info.LinkTarget is null)
                {
                    await WriteTreeAsync(writer, info.FullName, entryName, ct).ConfigureAwait(false);
                }
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
