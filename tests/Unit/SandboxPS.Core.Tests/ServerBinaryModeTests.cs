using SandboxPS.Core;

namespace SandboxPS.Core.Tests;

/// <summary>A server binary that lost its execute bits in a package (zip) gets them back, or an executable copy.</summary>
public sealed class ServerBinaryModeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sandboxps-serverbinary-").FullName;

    [Fact]
    public void A0644Binary_Becomes0755InPlace()
    {
        var path = Path.Combine(_dir, ServerBinary.FileName);
        File.WriteAllText(path, "#!/bin/sh\necho ok\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        Assert.Equal(path, ServerBinary.Executable(path));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
                     | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, File.GetUnixFileMode(path));
    }

    [Fact]
    public void AnExecutableBinary_IsLeftAsItIs()
    {
        var path = Path.Combine(_dir, ServerBinary.FileName);
        File.WriteAllText(path, "x");
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        File.SetUnixFileMode(path, mode);

        Assert.Equal(path, ServerBinary.Executable(path));
        Assert.Equal(mode, File.GetUnixFileMode(path));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
