using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SandboxPS.Core.Internal;

/// <summary>
/// The few file-system operations the copy engine needs with exact semantics: what a path is without
/// following its last component, and renames that never follow a link and never replace by accident.
/// </summary>
internal static class HostFileSystem
{
    internal enum Kind
    {
        Missing,
        Directory,
        Symlink,
        /// <summary>Anything else that is not a directory: a regular file, a FIFO, a socket, a device.</summary>
        File,
    }

    [UnsupportedOSPlatformGuard("windows")]
    internal static bool IsUnix => !OperatingSystem.IsWindows();

    /// <summary>What <paramref name="path"/> is; a symlink is reported as a symlink, never as what it points to.</summary>
    public static Kind KindOf(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            return Kind.Symlink;
        }
        var attributes = info.Attributes;
        if ((int)attributes == -1)
        {
            return Kind.Missing;
        }
        return (attributes & FileAttributes.Directory) != 0 ? Kind.Directory : Kind.File;
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int SysStatx(int dirFd, string path, int flags, uint mask, byte[] buffer);

    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 1;
    private const int StatxModeOffset = 28;   // struct statx is the same on every Linux architecture
    private const int FileTypeMask = 0xf000;
    private const int RegularFileType = 0x8000;

    /// <summary>
    /// True when <paramref name="path"/> (not followed) is a regular file, i.e. not a FIFO, socket or device, which
    /// must never be opened (a FIFO blocks, a device never ends). Where the type cannot be read, any non-directory,
    /// non-link counts as regular.
    /// </summary>
    public static bool IsRegularFile(string path)
    {
        if (KindOf(path) != Kind.File)
        {
            return false;
        }
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }
        var buffer = new byte[256];
        try
        {
            if (SysStatx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) != 0)
            {
                return true;
            }
        }
        catch (EntryPointNotFoundException)
        {
            return true;
        }
        return (BitConverter.ToUInt16(buffer, StatxModeOffset) & FileTypeMask) == RegularFileType;
    }

    private const int AtFdCwd = -100;
    private const uint RenameNoReplace = 1;
    private const int EExist = 17;
    private const int EInval = 22;
    private const int ENoSys = 38;

    [DllImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static extern int SysRename(string oldPath, string newPath);

    [DllImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    private static extern int SysRenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);

    /// <summary>
    /// Renames <paramref name="from"/> (file, directory or the link itself) to <paramref name="to"/>, which must not
    /// exist; an item that appeared there meanwhile is never replaced.
    /// </summary>
    public static void MoveNoReplace(string from, string to)
    {
        if (!IsUnix)
        {
            if (KindOf(from) == Kind.Directory)
            {
                Directory.Move(from, to);
            }
            else
            {
                File.Move(from, to, overwrite: false);
            }
            return;
        }
        int errno;
        try
        {
            if (SysRenameAt2(AtFdCwd, from, AtFdCwd, to, RenameNoReplace) == 0)
            {
                return;
            }
            errno = Marshal.GetLastPInvokeError();
        }
        catch (EntryPointNotFoundException)
        {
            errno = ENoSys;
        }
        if (errno == EExist)
        {
            throw new IOException($"'{to}' appeared while the copy was being put in place.");
        }
        if (errno is not (ENoSys or EInval))
        {
            throw Failure(errno, from, to);
        }
        // No renameat2 (old libc or a file system without RENAME_NOREPLACE): check, then rename.
        if (KindOf(to) != Kind.Missing)
        {
            throw new IOException($"'{to}' appeared while the copy was being put in place.");
        }
        Rename(from, to);
    }

    /// <summary>Renames over <paramref name="to"/> (a file or link, replaced as itself: a link's target is never touched).</summary>
    public static void Rename(string from, string to)
    {
        if (!IsUnix)
        {
            File.Move(from, to, overwrite: true);
            return;
        }
        if (SysRename(from, to) != 0)
        {
            throw Failure(Marshal.GetLastPInvokeError(), from, to);
        }
    }

    private static IOException Failure(int errno, string from, string to) =>
        new($"Could not move '{from}' to '{to}': {Marshal.GetPInvokeErrorMessage(errno)}.");

    /// <summary>Bytes free for this user on the file system holding <paramref name="directory"/>; null when unknown.</summary>
    public static long? AvailableBytes(string directory)
    {
        try
        {
            return new DriveInfo(directory).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
