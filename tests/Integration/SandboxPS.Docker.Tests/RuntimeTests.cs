using System.Text.Json;
using SandboxPS.Core;
using SandboxPS.Core.Runtimes;

namespace SandboxPS.Docker.Tests;

/// <summary>Runtime files, validation, generated Dockerfiles and builds through the engine.</summary>
public sealed class RuntimeTests(DockerFixture fixture) : IClassFixture<DockerFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sbx-runtime-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string UniqueName(string stem) => $"{stem}-{fixture.RunId[^8..]}";

    private RuntimeBuildOptions Options(List<RuntimeBuildProgress>? progress = null)
    {
        var options = new RuntimeBuildOptions { Labels = { [DockerFixture.TestLabel] = fixture.RunId } };
        if (progress is not null)
        {
            options.Progress = new SyncProgress(p => { lock (progress) { progress.Add(p); } });
        }
        return options;
    }

    private sealed class SyncProgress(Action<RuntimeBuildProgress> report) : IProgress<RuntimeBuildProgress>
    {
        public void Report(RuntimeBuildProgress value) => report(value);
    }

    [Fact(Timeout = 300_000)]
    public async Task Build_SetupCommandsOnBusybox_CachesThenRebuildsOnChangeAndRunsAsSandbox()
    {
        using var cts = TestHelpers.Guard();
        var name = UniqueName("t-busybox");
        var file = Path.Combine(_directory, "busybox.yaml");
        File.WriteAllText(file, $$"""
            name: {{name}}
            description: busybox with a marker file
            baseImage: {{DockerFixture.Busybox}}
            setupCommands:
              - echo built > /built.txt
              - printf '%s\n' '"] ; echo pwned \' > /quote.txt
            env:
              GREETING: 'say "hi" $HOME \ ok'
            workDir: /work
            """);
        var config = RuntimeCatalog.Resolve(file);
        var progress = new List<RuntimeBuildProgress>();

        var first = await fixture.Provider.Runtimes.EnsureAsync(config, Options(progress), cts.Token);
        var second = await fixture.Provider.Runtimes.EnsureAsync(RuntimeCatalog.Resolve(file), Options(), cts.Token);
        var changed = await fixture.Provider.Runtimes.EnsureAsync(config with { Env = new Dictionary<string, string> { ["GREETING"] = "changed" } }, Options(), cts.Token);

        Assert.True(first.Built);
        Assert.Matches($"^sandboxps-runtime/{name}:[0-9a-f]{{12}}$", first.Tag);
        Assert.Contains(progress, p => p.Message.Contains("Step 1/", StringComparison.Ordinal));
        Assert.False(second.Built);
        Assert.Equal(first.Tag, second.Tag);
        Assert.True(changed.Built);
        Assert.NotEqual(first.Tag, changed.Tag);

        var sandbox = await fixture.Provider.CreateAsync(fixture.Spec(DockerFixture.Busybox, s => { s.Image = null; s.Runtime = file; }), cts.Token);
        try
        {
            Assert.Equal(name, sandbox.Runtime);
            Assert.Equal(first.Tag, sandbox.Image);
            await fixture.ReadyAsync(sandbox, cts.Token);
            var http = fixture.Manager.GetClient(sandbox);
            var result = await TestHelpers.ShellAsync(http, "cat /built.txt /quote.txt; echo \"$GREETING\"; pwd", cts.Token);
            Assert.Equal("built\n\"] ; echo pwned \\\nsay \"hi\" $HOME \\ ok\n/work\n", result.Stdout);
        }
        finally
        {
            await fixture.Provider.RemoveAsync(sandbox.Id, CancellationToken.None);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task Build_AptOnDebian_InstallsThroughTheHostsMirror()
    {
        using var cts = TestHelpers.Guard();
        var config = new RuntimeConfig
        {
            Name = UniqueName("t-apt"),
            BaseImage = DockerFixture.Debian,
            PackageManager = "apt",
            Packages = ["jq"],
            User = "nobody",
            WorkDir = "/home/work",
        };

        var image = await fixture.Provider.Runtimes.EnsureAsync(config, Options(), cts.Token);

        Assert.True(image.Built);
        var sandbox = await fixture.Provider.CreateAsync(fixture.Spec(DockerFixture.Debian, s => { s.Image = image.Tag; }), cts.Token);
        try
        {
            await fixture.ReadyAsync(sandbox, cts.Token);
            var http = fixture.Manager.GetClient(sandbox);
            var result = await TestHelpers.ShellAsync(http, "echo '{\"a\":[1,2]}' | jq -c .a; id -un; pwd; touch mine && echo writable", cts.Token);
            Assert.Equal("[1,2]\nnobody\n/home/work\nwritable\n", result.Stdout);
        }
        finally
        {
            await fixture.Provider.RemoveAsync(sandbox.Id, CancellationToken.None);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task Build_FailingSetupCommand_ThrowsRuntimeBuildFailedWithTheLastLines()
    {
        using var cts = TestHelpers.Guard();
        var config = new RuntimeConfig
        {
            Name = UniqueName("t-fails"),
            BaseImage = DockerFixture.Busybox,
            SetupCommands = ["echo about-to-fail; exit 3"],
        };

        var ex = await Assert.ThrowsAsync<SandboxException>(() => fixture.Provider.Runtimes.EnsureAsync(config, Options(), cts.Token));

        Assert.Equal("RuntimeBuildFailed", ex.ErrorId);
        Assert.Equal(SandboxErrorKind.ActionFailed, ex.Kind);
        Assert.Contains("about-to-fail", ex.Message);
        Assert.Contains("non-zero code: 3", ex.Message);
    }

    [Fact(Timeout = 300_000)]
    public async Task Build_OwnDockerfileDirectory_RebuildsWhenAFileChanges()
    {
        using var cts = TestHelpers.Guard();
        var context = Path.Combine(_directory, "ctx-" + fixture.RunId[^8..]);
        Directory.CreateDirectory(context);
        File.WriteAllText(Path.Combine(context, "Dockerfile"), $"FROM {DockerFixture.Busybox}\nCOPY hello.txt /hello.txt\n");
        File.WriteAllText(Path.Combine(context, "hello.txt"), "one\n");

        var first = await fixture.Provider.Runtimes.EnsureAsync(RuntimeCatalog.Resolve(context), Options(), cts.Token);
        var again = await fixture.Provider.Runtimes.EnsureAsync(RuntimeCatalog.Resolve(context), Options(), cts.Token);
        File.WriteAllText(Path.Combine(context, "hello.txt"), "two\n");
        var changed = await fixture.Provider.Runtimes.EnsureAsync(RuntimeCatalog.Resolve(context), Options(), cts.Token);

        Assert.Equal("ctx-" + fixture.RunId[^8..], first.Config.Name);
        Assert.True(first.Built);
        Assert.False(again.Built);
        Assert.True(changed.Built);
        Assert.NotEqual(first.Tag, changed.Tag);
    }

    public static TheoryData<string, string> Injections => new()
    {
        { "packages", "name: x\nbaseImage: debian\npackageManager: apt\npackages: ['foo; rm -rf /']" },
        { "packages", "name: x\nbaseImage: debian\npackageManager: apt\npackages: ['$(curl evil)']" },
        { "packages", "name: x\nbaseImage: debian\npackageManager: pip\npackages: ['requests && curl evil']" },
        { "packages", "name: x\nbaseImage: debian\npackageManager: pip\npackages: ['--index-url=http://evil']" },
        { "packages", "name: x\nbaseImage: node\npackageManager: npm\npackages: ['../../etc/passwd']" },
        { "packages", "name: x\nbaseImage: rust\npackageManager: cargo\npackages: ['a b']" },
        { "env", "name: x\nbaseImage: debian\nenv:\n  \"A\\nRUN evil\": x" },
        { "env", "name: x\nbaseImage: debian\nenv:\n  A: \"x\\nRUN evil\"" },
        { "setupCommands", "name: x\nbaseImage: debian\nsetupCommands: [\"true\\nRUN evil\"]" },
        { "workDir", "name: x\nbaseImage: debian\nworkDir: '/tmp; rm -rf /'" },
        { "user", "name: x\nbaseImage: debian\nuser: \"root\\nUSER evil\"" },
        { "baseImage", "name: x\nbaseImage: \"debian\\nRUN evil\"" },
        { "name", "name: Upper Case\nbaseImage: debian" },
        { "packageManager", "name: x\nbaseImage: debian\npackageManager: brew\npackages: [wget]" },
        { "packageManager", "name: x\nbaseImage: debian\npackages: [wget]" },
        { "image", "name: x\nimage: debian\nbaseImage: debian" },
        { "packages", "name: x\nimage: debian\npackageManager: apt\npackages: [wget]" },
    };

    [Theory]
    [MemberData(nameof(Injections))]
    public void Parse_InjectionOrBadField_IsRejectedNamingTheField(string field, string yaml)
    {
        var ex = Assert.Throws<SandboxException>(() => RuntimeCatalog.Parse(yaml, json: false));
        Assert.Equal("InvalidRuntimeConfig", ex.ErrorId);
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal(field, ex.Target);
    }

    [Fact]
    public void Parse_UnknownField_IsRejectedWithItsLine()
    {
        var yaml = RuntimeCatalog.Parse("name: ok\nbaseImage: debian\n", json: false);
        Assert.Equal("debian", yaml.BaseImage);
        var ex = Assert.Throws<SandboxException>(() => RuntimeCatalog.Parse("name: x\nbaseImage: debian\npackges: [wget]\n", json: false, "r.yaml"));
        Assert.Contains("line 3", ex.Message);
        Assert.Contains("r.yaml", ex.Message);
        var jsonEx = Assert.Throws<SandboxException>(() => RuntimeCatalog.Parse("{\"name\":\"x\",\"baseImage\":\"d\",\"pakages\":[]}", json: true));
        Assert.Equal("InvalidRuntimeConfig", jsonEx.ErrorId);
    }

    [Fact]
    public void JsonAndYaml_SameConfig_SameTag()
    {
        var yaml = RuntimeCatalog.Parse("name: same\nbaseImage: debian:12\npackageManager: pip\npackages: [numpy, pandas>=2.0]\nenv: {B: '2', A: '1'}\n", json: false);
        var json = RuntimeCatalog.Parse("{\"name\":\"same\",\"baseImage\":\"debian:12\",\"packageManager\":\"pip\",\"packages\":[\"numpy\",\"pandas>=2.0\"],\"env\":{\"A\":\"1\",\"B\":\"2\"}}", json: true);
        Assert.Equal(yaml.ImageTag(), json.ImageTag());
        Assert.NotEqual(yaml.ImageTag(), (yaml with { Description = "now described" }).ImageTag());
        Assert.NotEqual(yaml.ImageTag(), (yaml with { Packages = ["numpy"] }).ImageTag());
    }

    [Fact]
    public void BuiltIns_AreValidAndGenerateOneJsonRunPerStep()
    {
        var names = RuntimeCatalog.BuiltIn.Select(r => r.Name).ToArray();
        Assert.Equal(["python-minimal", "python-datascience", "python-web", "node-minimal", "node-react"], names);
        foreach (var runtime in RuntimeCatalog.BuiltIn)
        {
            var dockerfile = DockerfileGenerator.Generate(runtime);
            Assert.StartsWith("# Generated by SandboxPS", dockerfile);
            foreach (var run in dockerfile.Split('\n').Where(l => l.StartsWith("RUN ", StringComparison.Ordinal)))
            {
                var argv = JsonSerializer.Deserialize<string[]>(run[4..]);
                Assert.NotNull(argv);
            }
        }
        var react = DockerfileGenerator.Generate(RuntimeCatalog.Resolve("node-react"));
        Assert.Contains("FROM node:20-slim\n", react);
        Assert.Contains("RUN [\"npm\",\"install\",\"--global\"", react);
        var ex = Assert.Throws<SandboxException>(() => RuntimeCatalog.Resolve("no-such-runtime"));
        Assert.Equal("RuntimeNotFound", ex.ErrorId);
        Assert.Contains("python-web", ex.Message);
    }
}
