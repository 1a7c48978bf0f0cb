using System.Formats.Tar;

namespace SandboxPS.Core.Providers.Kit;

/// <summary>How a provider gets <c>sandboxps-server</c> into a sandbox.</summary>
public enum ServerDelivery
{
    /// <summary>The sandbox is a host process: the host's binary runs as it is (Process).</summary>
    HostProcess,

    /// <summary>The host's binary is mounted read-only into the sandbox (Docker on a local engine).</summary>
    Mount,

    /// <summary>A tar of the binary is copied in before start (Docker's archive API on a remote engine).</summary>
    Copy,

    /// <summary>The binary is uploaded through the backend's file API after the sandbox runs (cloud toolboxes).</summary>
    Upload,

    /// <summary>The image already holds it at <see cref="ServerPayload.SandboxServerPath"/> (derived images, init containers).</summary>
    Image,
}

/// <summary>
/// The server binary as providers deliver it: its host path (found once) and, for
/// <see cref="ServerDelivery.Copy"/>/<see cref="ServerDelivery.Upload"/>, a tar of it (built once). Thread-safe.
/// </summary>
public sealed class ServerPayload
{
    /// <summary>Directory of the server (and its run directory) inside a sandbox.</summary>
    public const string SandboxDirectory = "/.sandboxps";

    /// <summary>Path of the server binary inside a sandbox.</summary>
    public const string SandboxServerPath = SandboxDirectory + "/" + ServerBinary.FileName;

    private readonly Lazy<string> _path;
    private readonly Lazy<byte[]> _archive;
    private readonly Lazy<byte[]> _flatArchive;

    /// <summary>The binary at <paramref name="binaryPath"/>, or (null) wherever <see cref="ServerBinary.Locate"/> finds it.</summary>
    public ServerPayload(string? binaryPath = null)
    {
        _path = new Lazy<string>(() => binaryPath is null ? ServerBinary.Locate() : Path.GetFullPath(binaryPath));
        _archive = new Lazy<byte[]>(() => BuildArchive(BinaryPath, withDirectory: true));
        _flatArchive = new Lazy<byte[]>(() => BuildArchive(BinaryPath, withDirectory: false));
    }

    /// <summary>Full host path of the binary.</summary>
    /// <exception cref="SandboxException">ServerBinaryNotFound.</exception>
    public string BinaryPath => _path.Value;

    /// <summary>
    /// A tar to extract at <c>/</c> (it holds <see cref="SandboxDirectory"/> and the binary), or, with
    /// <paramref name="flat"/>, one to extract into <see cref="SandboxDirectory"/> itself (a volume mounted there).
    /// </summary>
    public byte[] Archive(bool flat = false) => flat ? _flatArchive.Value : _archive.Value;

    /// <summary>Builds the tar: mode 0755, owner root, deterministic directory entry.</summary>
    internal static byte[] BuildArchive(string serverPath, bool withDirectory)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            const UnixFileMode rx = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                  | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
            var prefix = "";
            if (withDirectory)
            {
                prefix = SandboxDirectory.TrimStart('/') + "/";
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, prefix)
                {
                    Mode = rx, Uid = 0, Gid = 0, ModificationTime = DateTimeOffset.UnixEpoch,
                });
            }
            using var binary = File.OpenRead(serverPath);
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, prefix + ServerBinary.FileName)
            {
                Mode = rx, Uid = 0, Gid = 0, ModificationTime = File.GetLastWriteTimeUtc(serverPath), DataStream = binary,
            });
        }
        return buffer.ToArray();
    }
}
