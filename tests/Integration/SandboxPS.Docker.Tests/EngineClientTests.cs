using System.Net;
using SandboxPS.Core;
using SandboxPS.Core.Providers.Docker;

namespace SandboxPS.Docker.Tests;

public sealed class EngineClientTests
{
    [Fact(Timeout = 60_000)]
    public async Task GetApiVersion_RealEngine_NegotiatesAtMostOurVersion()
    {
        using var cts = TestHelpers.Guard();
        using var client = new DockerEngineClient(DockerEndpoint.Parse(null));
        var engine = await client.GetVersionAsync(cts.Token);
        var negotiated = await client.GetApiVersionAsync(cts.Token);

        Assert.False(string.IsNullOrEmpty(engine.ApiVersion));
        Assert.True(Version.Parse(negotiated) <= Version.Parse(DockerEngineClient.MaxApiVersion));
        Assert.True(Version.Parse(negotiated) <= Version.Parse(engine.ApiVersion!));
    }

    [Theory]
    [InlineData("1.43", "1.41")]
    [InlineData("1.41", "1.41")]
    [InlineData("1.40", "1.40")]
    [InlineData(null, "1.41")]
    public void Negotiate_TakesTheOlderVersion(string? engine, string expected) =>
        Assert.Equal(expected, DockerEngineClient.Negotiate(engine));

    [Fact(Timeout = 60_000)]
    public async Task List_BogusUnixSocket_ThrowsDockerEngineUnavailableNamingTheEndpoint()
    {
        using var cts = TestHelpers.Guard();
        using var provider = new DockerProvider("unix:///nonexistent/sandboxps/docker.sock");

        var ex = await Assert.ThrowsAsync<SandboxException>(async () =>
        {
            await foreach (var _ in provider.ListAsync(cancellationToken: cts.Token))
            {
            }
        });

        Assert.Equal("DockerEngineUnavailable", ex.ErrorId);
        Assert.Equal(SandboxErrorKind.ProviderUnavailable, ex.Kind);
        Assert.Contains("unix:///nonexistent/sandboxps/docker.sock", ex.Message);
        Assert.Contains("does not exist, so the engine is not running", ex.Message);
        Assert.Contains("systemctl start docker", ex.RecommendedAction);
        Assert.Contains("dockerd &", ex.RecommendedAction);
        Assert.Contains("DOCKER_HOST", ex.RecommendedAction);
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_StaleEngineSocket_SaysNothingListensAndHowToStartTheEngine()
    {
        using var cts = TestHelpers.Guard();
        // A socket file that a stopped engine left behind: bound once, never listened on.
        var dir = Directory.CreateTempSubdirectory("sbx-stale-");
        try
        {
            var path = Path.Combine(dir.FullName, "docker.sock");
            using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
            {
                var bound = Path.Combine(dir.FullName, "bound.sock");
                socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(bound));
                File.Move(bound, path); // closing the socket unlinks the path it bound, not this one
            }
            using var provider = new DockerProvider("unix://" + path);

            var ex = await Assert.ThrowsAsync<SandboxException>(() =>
                provider.CreateAsync(new SandboxSpec { Image = DockerFixture.Busybox }, cts.Token));

            Assert.Equal("DockerEngineUnavailable", ex.ErrorId);
            Assert.Contains($"nothing listens on {path}", ex.Message);
            Assert.Contains("systemctl start docker", ex.RecommendedAction);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_ClosedTcpPort_ThrowsDockerEngineUnavailable()
    {
        using var cts = TestHelpers.Guard();
        // A port nobody listens on: bind one, learn its number, close it.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var provider = new DockerProvider($"tcp://127.0.0.1:{port}");

        var ex = await Assert.ThrowsAsync<SandboxException>(() =>
            provider.CreateAsync(new SandboxSpec { Image = DockerFixture.Busybox }, cts.Token));

        Assert.Equal("DockerEngineUnavailable", ex.ErrorId);
        Assert.Contains($"tcp://127.0.0.1:{port}", ex.Message);
    }

    [Theory]
    [InlineData("ssh://user@host", "DockerHostNotSupported")]
    [InlineData("unix://relative.sock", "InvalidDockerHost")]
    [InlineData("ftp://host", "InvalidDockerHost")]
    public void Parse_UnusableDockerHost_IsRejectedWithAClearError(string host, string errorId)
    {
        var ex = Assert.Throws<SandboxException>(() => DockerEndpoint.Parse(host));
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Contains(host, ex.Message);
    }

    [Theory]
    [InlineData("busybox", "busybox", "latest")]
    [InlineData("python:3.12-slim", "python", "3.12-slim")]
    [InlineData("registry:5000/team/img", "registry:5000/team/img", "latest")]
    [InlineData("registry:5000/team/img:v2", "registry:5000/team/img", "v2")]
    [InlineData("img@sha256:abc", "img", "sha256:abc")]
    public void SplitReference_SeparatesRepositoryAndTag(string image, string repository, string tag) =>
        Assert.Equal((repository, tag), DockerProvider.SplitReference(image));

    [Fact]
    public void Parse_Tcp_DefaultsPortsAndTls()
    {
        Assert.Equal(new Uri("http://10.0.0.5:2375/"), DockerEndpoint.Parse("tcp://10.0.0.5").BaseAddress);
        var tls = DockerEndpoint.Parse("tcp://10.0.0.5", tlsVerify: true, certPath: "/certs");
        Assert.Equal(new Uri("https://10.0.0.5:2376/"), tls.BaseAddress);
        Assert.Equal("/certs", tls.CertPath);
        Assert.Equal("/x/d.sock", DockerEndpoint.Parse("unix:///x/d.sock").UnixSocketPath);
    }

    [Fact]
    public void TlsVerify_MissingCertificates_SaysWhichFileIsMissing()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sbx-nocerts-" + Guid.NewGuid().ToString("N"));
        var ex = Assert.Throws<SandboxException>(() => new DockerEngineClient(DockerEndpoint.Parse("tcp://127.0.0.1:2376", true, dir)));
        Assert.Equal("DockerCertificateMissing", ex.ErrorId);
        Assert.Contains(Path.Combine(dir, "ca.pem"), ex.Message);
    }

    [Fact]
    public void MapError_TableMapsStatusCodes()
    {
        Assert.Equal(SandboxErrorKind.NotFound, DockerEngineClient.MapError(HttpStatusCode.NotFound, "no such container", "GET /x", null, null).Kind);
        Assert.Equal(SandboxErrorKind.Conflict, DockerEngineClient.MapError(HttpStatusCode.Conflict, "busy", "POST /x", null, null).Kind);
        var internalError = DockerEngineClient.MapError(HttpStatusCode.InternalServerError, "boom", "POST /x", null, null);
        Assert.Equal(SandboxErrorKind.Internal, internalError.Kind);
        Assert.Contains("boom", internalError.Message);
        var overridden = DockerEngineClient.MapError(HttpStatusCode.NotFound, "gone", "GET /x", DockerErrorMap.NotFound("SandboxNotFound", "abc"), null);
        Assert.Equal("SandboxNotFound", overridden.ErrorId);
        Assert.Equal("abc", overridden.Target);
    }
}
