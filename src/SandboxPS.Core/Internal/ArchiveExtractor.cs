using System.Formats.Tar;
using System.Security.Cryptography;

namespace SandboxPS.Core.Internal;

/// <summary>
/// Extracts a tar that came from a sandbox onto the host, treating every byte of it as hostile.
/// <list type="number">
/// <item>Stage: the whole archive is extracted into a fresh private directory (<c>.sandboxps-cp-*</c>, mode 0700)
/// beside the destination. Every name is checked (no absolute names, no <c>..</c>, nothing written through a link,
/// no duplicates); links may only point inside the copy; devices and FIFOs are refused; setuid/setgid/sticky bits
/// are dropped; the size an entry announces must fit the free space. Nothing outside the staging directory is
/// touched in this phase, so a malformed, truncated or hostile archive leaves the destination exactly as it was.</item>
/// <item>Plan: the staged tree is compared with what exists at the destination, without following any link there.
/// A new item is moved in whole; an existing directory is merged into; an existing file or link is replaced (as
/// itself, never through it). A directory is never replaced or deleted, and no copy writes through a link it finds:
/// such conflicts refuse the copy before anything moves.</item>
/// <item>Commit: renames, each atomic; a failure rolls every step back (replaced files are kept until the end).</item>
/// </list>
/// </summary>
internal static class ArchiveExtractor
{
    private const UnixFileMode PermissionBits = (UnixFileMode)0x1ff;   // rwxrwxrwx: no setuid, setgid or sticky
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    internal const string StagingPrefix = ".sandboxps-cp-";

    /// <summary>Tests only: called before each commit step with its final path (to make one fail).</summary>
    internal static readonly AsyncLocal<Action<string>?> CommitStepHook = new();

    private enum Node
    {
        Directory,
        File,
        Symlink,
    }

    /// <summary>Where a copy lands: the directory it is staged in, the final path of the item, and whether that path is the user's own directory to merge into.</summary>
    private readonly record struct Destination(string Receiving, string Target, bool TargetIsNamedDirectory);

    /// <summary>
    /// Extracts <paramref name="tar"/>, the archive of the sandbox item <paramref name="remotePath"/>, to
    /// <paramref name="localPath"/> (inside it under the item's name when it is an existing directory).
    /// A directory's archive holds its content (names relative to it); a single item's archive holds one entry.
    /// Returns the number of entries written.
    /// </summary>
    public static async Task<int> ExtractAsync(Stream tar, string remotePath, bool remoteIsDirectory, string localPath,
                                               UnixFileMode? rootMode, CancellationToken ct)
    {
        var destination = Resolve(remotePath, remoteIsDirectory, localPath);
        var createdParents = CreateMissingParents(destination.Receiving, localPath);
        var committed = false;
        try
        {
            using var staging = new Staging(destination.Receiving, remotePath, localPath);
            int count = await staging.ExtractAsync(tar, remoteIsDirectory, rootMode, ct).ConfigureAwait(false);
            staging.Commit(destination);
            committed = true;
            return count;
        }
        finally
        {
            if (!committed)
            {
                RemoveCreatedParents(createdParents);
            }
        }
    }

    private static Destination Resolve(string remotePath, bool remoteIsDirectory, string localPath)
    {
        var local = Path.GetFullPath(localPath);
        if (local.Length > 1)
        {
            local = Path.TrimEndingDirectorySeparator(local);
        }
        var remoteBase = RemoteBaseName(remotePath);
        if (remoteBase is null && !remoteIsDirectory)
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidArchive,
                $"The sandbox reported '{remotePath}' as a file, but the path has no file name to copy it under.", remotePath);
        }
        // The user's own destination path is taken as they named it (a link they made is followed, as cp does);
        // below it nothing is ever followed.
        if (Directory.Exists(local))
        {
            return remoteBase is null
                ? new Destination(local, local, TargetIsNamedDirectory: true)
                : new Destination(local, Path.Combine(local, remoteBase), TargetIsNamedDirectory: false);
        }
        var parent = Path.GetDirectoryName(local)
            ?? throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.LocalPathNotFound,
                                          $"'{localPath}' cannot be a copy destination.", localPath);
        return new Destination(parent, local, TargetIsNamedDirectory: false);
    }

    /// <summary>The last component of the sandbox path; null for '/', '.', '..' (their content lands in the destination itself).</summary>
    private static string? RemoteBaseName(string remotePath)
    {
        var trimmed = remotePath.TrimEnd('/');
        var name = trimmed[(trimmed.LastIndexOf('/') + 1)..];
        if (name is "" or "." or "..")
        {
            return null;
        }
        if (!HostFileSystem.IsUnix && (name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0))
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidArchive,
                $"The sandbox item name '{name}' cannot be a file name on this system; copy it to a path with a valid name.", remotePath);
        }
        return name;
    }

    private static List<string> CreateMissingParents(string receiving, string localPath)
    {
        var missing = new List<string>();
        for (var dir = receiving; dir is not null && HostFileSystem.KindOf(dir) == HostFileSystem.Kind.Missing; dir = Path.GetDirectoryName(dir))
        {
            missing.Add(dir);
        }
        try
        {
            Directory.CreateDirectory(receiving);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw LocalFailure(localPath, ex);
        }
        return missing;   // deepest first
    }

    private static void RemoveCreatedParents(List<string> created)
    {
        foreach (var dir in created)
        {
            try
            {
                Directory.Delete(dir, recursive: false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    internal static SandboxException LocalFailure(string localPath, Exception ex) =>
        new(SandboxErrorKind.InvalidArgument, SandboxErrorIds.LocalPathNotFound,
            $"Could not write the copy to '{localPath}': {ex.Message} Nothing was changed at the destination.", localPath, ex);

    private static SandboxException Refused(string entryName, string why) =>
        new(SandboxErrorKind.InvalidArgument, SandboxErrorIds.InvalidArchive,
            $"Refused archive entry '{Printable(entryName)}' from the sandbox: {why}. Nothing was changed at the destination.", entryName)
        {
            RecommendedAction = "Copy a path without such entries, or pack it into a tar file inside the sandbox and copy that file.",
        };

    private static SandboxException Malformed(string remotePath, Exception ex) =>
        new(SandboxErrorKind.Internal, SandboxErrorIds.InvalidArchive,
            $"The archive of '{remotePath}' from the sandbox is malformed or was cut short ({ex.Message}). Nothing was changed at the destination.",
            remotePath, ex);

    private static string Printable(string name) =>
        string.Create(name.Length, name, static (span, s) =>
        {
            for (int i = 0; i < s.Length; i++)
            {
                span[i] = char.IsControl(s[i]) ? '?' : s[i];
            }
        });

    /// <summary>The private directory a copy is extracted into before it is put in place; removed on dispose.</summary>
    private sealed class Staging : IDisposable
    {
        private readonly string _dir;
        private readonly string _item;
        private readonly string _remotePath;
        private readonly string _localPath;
        private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (UnixFileMode Mode, DateTimeOffset? MTime)> _directoryMeta = new(StringComparer.Ordinal);
        private readonly long? _free;
        private long _announced;
        private int _backups;

        public Staging(string receiving, string remotePath, string localPath)
        {
            _remotePath = remotePath;
            _localPath = localPath;
            _dir = Path.Combine(receiving, StagingPrefix + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant());
            _item = Path.Combine(_dir, "item");
            MakeDirectory(_dir);
            _free = HostFileSystem.AvailableBytes(_dir);
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(_dir, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left behind under its .sandboxps-cp-* name, never under a final name.
            }
        }

        private string Staged(string relative) => relative.Length == 0 ? _item : Path.Combine(_item, relative);

        public async Task<int> ExtractAsync(Stream tar, bool directory, UnixFileMode? rootMode, CancellationToken ct)
        {
            var reader = new TarReader(tar, leaveOpen: true);
            await using (reader.ConfigureAwait(false))
            {
                if (directory)
                {
                    MakeDirectory(_item);
                    _nodes[""] = Node.Directory;
                    if (rootMode is { } mode)
                    {
                        _directoryMeta[""] = (mode & PermissionBits, null);
                    }
                }
                int count = 0;
                var buffer = new byte[128 * 1024];
                while (await NextAsync(reader, ct).ConfigureAwait(false) is { } entry)
                {
                    if (entry.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes)
                    {
                        continue;
                    }
                    if (directory)
                    {
                        await ExtractDirectoryEntryAsync(entry, buffer, ct).ConfigureAwait(false);
                    }
                    else
                    {
                        if (count > 0)
                        {
                            throw Refused(entry.Name, $"the archive of the single item '{_remotePath}' holds more than one entry");
                        }
                        await ExtractSingleEntryAsync(entry, buffer, ct).ConfigureAwait(false);
                    }
                    count++;
                }
                if (!directory && count == 0)
                {
                    throw new SandboxException(SandboxErrorKind.Internal, SandboxErrorIds.InvalidArchive,
                        $"The archive of '{_remotePath}' from the sandbox is empty. Nothing was changed at the destination.", _remotePath);
                }
                return count;
            }
        }

        private async Task<TarEntry?> NextAsync(TarReader reader, CancellationToken ct)
        {
            try
            {
                return await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidDataException or FormatException or IOException or ArgumentException or OverflowException)
            {
                throw Malformed(_remotePath, ex);
            }
        }

        private async Task ExtractSingleEntryAsync(TarEntry entry, byte[] buffer, CancellationToken ct)
        {
            var name = Normalize(entry.Name, entry.Name);
            if (name.Length == 0 || name.Contains('/'))
            {
                throw Refused(entry.Name, $"the archive of the single item '{_remotePath}' must hold that one item by its name");
            }
            switch (entry.EntryType)
            {
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    await WriteFileAsync(entry, _item, buffer, ct).ConfigureAwait(false);
                    _nodes[""] = Node.File;
                    break;
                case TarEntryType.SymbolicLink:
                    // A lone link lands in the destination's directory: it may name things beside it, never above.
                    MakeLink(entry, _item, CheckLinkTarget(entry, depth: 0));
                    _nodes[""] = Node.Symlink;
                    break;
                case TarEntryType.Directory:
                    throw Refused(entry.Name, $"the sandbox reported '{_remotePath}' as a file but sent a directory (did it change during the copy? copy again)");
                default:
                    throw Refused(entry.Name, Unrepresentable(entry.EntryType));
            }
        }

        private async Task ExtractDirectoryEntryAsync(TarEntry entry, byte[] buffer, CancellationToken ct)
        {
            var relative = Normalize(entry.Name, entry.Name);
            if (relative.Length == 0)
            {
                if (entry.EntryType != TarEntryType.Directory)
                {
                    throw Refused(entry.Name, "it names the copied directory itself but is not a directory");
                }
                _directoryMeta[""] = (entry.Mode & PermissionBits, entry.ModificationTime);
                return;
            }
            EnsureParents(entry.Name, relative);
            var path = Staged(relative);
            if (_nodes.TryGetValue(relative, out var existing))
            {
                if (existing == Node.Directory && entry.EntryType == TarEntryType.Directory)
                {
                    _directoryMeta[relative] = (entry.Mode & PermissionBits, entry.ModificationTime);
                    return;
                }
                throw Refused(entry.Name, "the archive holds this name twice");
            }
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    MakeDirectory(path);
                    _nodes[relative] = Node.Directory;
                    _directoryMeta[relative] = (entry.Mode & PermissionBits, entry.ModificationTime);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    await WriteFileAsync(entry, path, buffer, ct).ConfigureAwait(false);
                    _nodes[relative] = Node.File;
                    break;
                case TarEntryType.SymbolicLink:
                    MakeLink(entry, path, CheckLinkTarget(entry, depth: relative.Count(c => c == '/')));
                    _nodes[relative] = Node.Symlink;
                    break;
                case TarEntryType.HardLink:
                    {
                        var source = Normalize(entry.LinkName, entry.Name, "hard-link target");
                        if (!_nodes.TryGetValue(source, out var kind) || kind != Node.File)
                        {
                            throw Refused(entry.Name, kind == Node.Symlink
                                ? $"it is a hard link to the symbolic link '{Printable(entry.LinkName)}'"
                                : $"it is a hard link to '{Printable(entry.LinkName)}', which is not a file earlier in the same archive");
                        }
                        try
                        {
                            File.Copy(Staged(source), path, overwrite: false);
                        }
                        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                        {
                            throw LocalFailure(_localPath, ex);
                        }
                        _nodes[relative] = Node.File;
                        break;
                    }
                default:
                    throw Refused(entry.Name, Unrepresentable(entry.EntryType));
            }
        }

        private static string Unrepresentable(TarEntryType type) => type switch
        {
            TarEntryType.CharacterDevice or TarEntryType.BlockDevice => "it is a device file, which a copy never creates on the host",
            TarEntryType.Fifo => "it is a FIFO, which a copy never creates on the host",
            TarEntryType.HardLink => "a single item cannot be a hard link",
            _ => $"its tar entry type '{type}' cannot be represented on the host",
        };

        /// <summary>
        /// The entry's path relative to the copy, with '/' separators: no leading './', no '.' or empty parts.
        /// Absolute names, '..' anywhere and NUL are refused.
        /// </summary>
        private static string Normalize(string name, string entryName, string what = "name")
        {
            if (name.Contains('\0'))
            {
                throw Refused(entryName, $"its {what} holds a NUL character");
            }
            if (name.StartsWith('/') || (!HostFileSystem.IsUnix && (name.StartsWith('\\') || (name.Length > 1 && name[1] == ':'))))
            {
                throw Refused(entryName, $"its {what} '{Printable(name)}' is absolute");
            }
            var parts = new List<string>();
            foreach (var part in name.Split('/'))
            {
                if (part is "" or ".")
                {
                    continue;
                }
                if (part == ".." || (!HostFileSystem.IsUnix && part.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0))
                {
                    throw Refused(entryName, part == ".." ? $"its {what} climbs out of the copy with '..'" : $"its {what} cannot be a file name on this system");
                }
                parts.Add(part);
            }
            return string.Join('/', parts);
        }

        /// <summary>Every parent of the entry inside the copy must be a directory of this archive (made here when the archive skipped it).</summary>
        private void EnsureParents(string entryName, string relative)
        {
            int slash = -1;
            while ((slash = relative.IndexOf('/', slash + 1)) >= 0)
            {
                var parent = relative[..slash];
                if (_nodes.TryGetValue(parent, out var kind))
                {
                    if (kind != Node.Directory)
                    {
                        throw Refused(entryName, kind == Node.Symlink
                            ? $"it would be written through the symbolic link '{Printable(parent)}' of the same archive"
                            : $"its parent '{Printable(parent)}' is a file of the same archive");
                    }
                    continue;
                }
                MakeDirectory(Staged(parent));
                _nodes[parent] = Node.Directory;
            }
        }

        /// <summary>
        /// A link target that resolves inside the copy: relative, '..' only as leading parts and never more of them
        /// than the link has directories above it inside the copy (<paramref name="depth"/>).
        /// </summary>
        private static string CheckLinkTarget(TarEntry entry, int depth)
        {
            var target = entry.LinkName;
            if (string.IsNullOrEmpty(target) || target.Contains('\0'))
            {
                throw Refused(entry.Name, "it is a symbolic link with an empty or invalid target");
            }
            if (target.StartsWith('/') || Path.IsPathRooted(target))
            {
                throw Refused(entry.Name, $"it is a symbolic link to the absolute path '{Printable(target)}'; a copy only creates links that stay inside it");
            }
            int up = 0;
            bool named = false;
            foreach (var part in target.Split('/'))
            {
                if (part is "" or ".")
                {
                    continue;
                }
                if (part != "..")
                {
                    named = true;
                }
                else if (named)
                {
                    throw Refused(entry.Name, $"it is a symbolic link to '{Printable(target)}', which has '..' after a name (where it lands depends on what that name is)");
                }
                else if (++up > depth)
                {
                    throw Refused(entry.Name, $"it is a symbolic link to '{Printable(target)}', which points outside the copy");
                }
            }
            return target;
        }

        private void MakeDirectory(string path)
        {
            try
            {
                if (HostFileSystem.IsUnix)
                {
                    Directory.CreateDirectory(path, PrivateDirectory);
                }
                else
                {
                    Directory.CreateDirectory(path);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw LocalFailure(_localPath, ex);
            }
        }

        private void MakeLink(TarEntry entry, string path, string target)
        {
            try
            {
                File.CreateSymbolicLink(path, target);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw LocalFailure(_localPath, ex);
            }
        }

        private async Task WriteFileAsync(TarEntry entry, string path, byte[] buffer, CancellationToken ct)
        {
            _announced += entry.Length;
            if (_free is { } free && _announced > free)
            {
                throw new SandboxException(SandboxErrorKind.QuotaExceeded, SandboxErrorIds.InsufficientLocalSpace,
                    $"The archive entry '{Printable(entry.Name)}' announces {entry.Length} bytes; with the entries before it that is {_announced} bytes, " +
                    $"but only {free} bytes are free at '{_localPath}'. Nothing was changed at the destination.", _localPath)
                {
                    RecommendedAction = "Free space at the destination or copy to another disk.",
                };
            }
            FileStream file;
            try
            {
                var options = new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    Options = FileOptions.Asynchronous,
                    BufferSize = 0,
                };
                if (HostFileSystem.IsUnix)
                {
                    options.UnixCreateMode = PrivateFile;
                }
                file = new FileStream(path, options);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw LocalFailure(_localPath, ex);
            }
            await using (file.ConfigureAwait(false))
            {
                if (entry.DataStream is { } data)
                {
                    while (true)
                    {
                        int n;
                        try
                        {
                            n = await data.ReadAsync(buffer, ct).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is InvalidDataException or IOException)
                        {
                            throw Malformed(_remotePath, ex);
                        }
                        if (n == 0)
                        {
                            break;
                        }
                        try
                        {
                            await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                        {
                            throw LocalFailure(_localPath, ex);
                        }
                    }
                }
            }
            try
            {
                if (HostFileSystem.IsUnix)
                {
                    File.SetUnixFileMode(path, entry.Mode & PermissionBits);
                }
                File.SetLastWriteTimeUtc(path, entry.ModificationTime.UtcDateTime);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
            {
                // Metadata is best effort; the content is what matters.
            }
        }

        // ---- commit -------------------------------------------------------------------------------

        private readonly Dictionary<string, List<string>> _children = new(StringComparer.Ordinal);

        private readonly record struct Step(string From, string To, string? Backup);

        public void Commit(Destination destination)
        {
            var steps = new List<(string From, string To, bool Replace)>();
            var conflicts = new List<string>();
            var merged = new HashSet<string>(StringComparer.Ordinal);
            foreach (var relative in _nodes.Keys.Where(k => k.Length > 0).Order(StringComparer.Ordinal))
            {
                var parent = ParentOf(relative);
                if (!_children.TryGetValue(parent, out var list))
                {
                    _children[parent] = list = new List<string>();
                }
                list.Add(relative);
            }
            if (_nodes[""] == Node.Directory)
            {
                PlanDirectory("", destination.Target, destination.TargetIsNamedDirectory, steps, conflicts, merged);
            }
            else
            {
                PlanLeaf("", destination.Target, steps, conflicts);
            }
            if (conflicts.Count > 0)
            {
                var shown = string.Join("; ", conflicts.Take(5)) + (conflicts.Count > 5 ? $"; and {conflicts.Count - 5} more" : "");
                throw new SandboxException(SandboxErrorKind.Conflict, SandboxErrorIds.LocalPathConflict,
                    $"Copy refused, nothing was changed: {shown}.", destination.Target)
                {
                    RecommendedAction = "Move or rename the local item in the way, or copy to a new destination.",
                };
            }

            var done = new List<Step>();
            try
            {
                foreach (var (from, to, replace) in steps)
                {
                    CommitStepHook.Value?.Invoke(to);
                    if (replace)
                    {
                        var backup = Path.Combine(_dir, "replaced-" + (_backups++).ToString(System.Globalization.CultureInfo.InvariantCulture));
                        HostFileSystem.MoveNoReplace(to, backup);
                        try
                        {
                            HostFileSystem.MoveNoReplace(from, to);
                        }
                        catch
                        {
                            HostFileSystem.MoveNoReplace(backup, to);
                            throw;
                        }
                        done.Add(new Step(from, to, backup));
                    }
                    else
                    {
                        HostFileSystem.MoveNoReplace(from, to);
                        done.Add(new Step(from, to, null));
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                var left = RollBack(done);
                throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.LocalPathNotFound,
                    $"Could not put the copy in place at '{_localPath}': {ex.Message} " +
                    (left.Count == 0 ? "Every step was undone; nothing was changed." : "These could not be restored: " + string.Join(", ", left) + "."),
                    _localPath, ex);
            }

            ApplyDirectoryMetadata(destination.Target, merged);
        }

        private void PlanDirectory(string relative, string target, bool followTarget, List<(string, string, bool)> steps,
                                   List<string> conflicts, HashSet<string> merged)
        {
            var kind = followTarget && Directory.Exists(target) ? HostFileSystem.Kind.Directory : HostFileSystem.KindOf(target);
            switch (kind)
            {
                case HostFileSystem.Kind.Missing:
                    steps.Add((Staged(relative), target, false));
                    return;
                case HostFileSystem.Kind.Directory:
                    merged.Add(relative);
                    foreach (var child in _children.GetValueOrDefault(relative) ?? [])
                    {
                        var childTarget = Path.Combine(target, child[(child.LastIndexOf('/') + 1)..]);
                        if (_nodes[child] == Node.Directory)
                        {
                            PlanDirectory(child, childTarget, false, steps, conflicts, merged);
                        }
                        else
                        {
                            PlanLeaf(child, childTarget, steps, conflicts);
                        }
                    }
                    return;
                case HostFileSystem.Kind.Symlink:
                    conflicts.Add($"'{target}' is a symbolic link where the sandbox has a directory (a copy never writes through a link)");
                    return;
                default:
                    conflicts.Add($"'{target}' is a file where the sandbox has a directory");
                    return;
            }
        }

        private void PlanLeaf(string relative, string target, List<(string, string, bool)> steps, List<string> conflicts)
        {
            switch (HostFileSystem.KindOf(target))
            {
                case HostFileSystem.Kind.Missing:
                    steps.Add((Staged(relative), target, false));
                    return;
                case HostFileSystem.Kind.Directory:
                    conflicts.Add($"'{target}' is a directory where the sandbox has a {(_nodes[relative] == Node.Symlink ? "symbolic link" : "file")} " +
                                  "(a copy never replaces or deletes a directory)");
                    return;
                default:
                    steps.Add((Staged(relative), target, true));   // a file or a link, replaced as itself
                    return;
            }
        }

        private static string ParentOf(string relative)
        {
            int slash = relative.LastIndexOf('/');
            return slash < 0 ? "" : relative[..slash];
        }

        /// <summary>Undoes the steps in reverse; returns the paths that could not be restored.</summary>
        private static List<string> RollBack(List<Step> done)
        {
            var left = new List<string>();
            for (int i = done.Count - 1; i >= 0; i--)
            {
                var (from, to, backup) = done[i];
                try
                {
                    HostFileSystem.MoveNoReplace(to, from);
                    if (backup is not null)
                    {
                        HostFileSystem.MoveNoReplace(backup, to);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    left.Add(to);
                }
            }
            return left;
        }

        /// <summary>Modes and times of the directories this copy created (never of the user's directories it merged into), deepest first.</summary>
        private void ApplyDirectoryMetadata(string target, HashSet<string> merged)
        {
            if (!HostFileSystem.IsUnix)
            {
                return;
            }
            foreach (var (relative, (mode, mtime)) in _directoryMeta.OrderByDescending(kv => kv.Key.Length))
            {
                if (merged.Contains(relative))
                {
                    continue;
                }
                var path = relative.Length == 0 ? target : Path.Combine(target, relative);
                try
                {
                    if (HostFileSystem.KindOf(path) != HostFileSystem.Kind.Directory)
                    {
                        continue;
                    }
                    if (mtime is { } t)
                    {
                        Directory.SetLastWriteTimeUtc(path, t.UtcDateTime);
                    }
                    File.SetUnixFileMode(path, mode);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
                {
                }
            }
        }
    }
}
