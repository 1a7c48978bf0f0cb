namespace SandboxPS.Core.Runtimes;

/// <summary>How the Docker provider's <c>RuntimeBuilder</c> builds.</summary>
public sealed class RuntimeBuildOptions
{
    /// <summary>Reuse the image when its tag (name + hash of the config) exists. On by default.</summary>
    public bool Cache { get; set; } = true;

    /// <summary>Extra <c>/etc/hosts</c> entries of build containers (<c>host:ip</c>), like <c>docker build --add-host</c>.</summary>
    public IList<string> ExtraHosts { get; set; } = new List<string>();

    /// <summary>
    /// For apt builds, map the host names of this machine's apt mirrors (read from /etc/apt at run
    /// time) to the addresses this machine resolves, so builds use the same mirror. On by default.
    /// </summary>
    public bool AddAptMirrorHosts { get; set; } = true;

    /// <summary>Extra labels on the built image.</summary>
    public IDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Receives the build's output as it happens.</summary>
    public IProgress<RuntimeBuildProgress>? Progress { get; set; }
}

/// <summary>One line of build output.</summary>
/// <param name="Runtime">Runtime being built.</param>
/// <param name="Message">The engine's line (a build step, a command's output, a status).</param>
public sealed record RuntimeBuildProgress(string Runtime, string Message);

/// <summary>The image a runtime resolved to.</summary>
/// <param name="Config">The runtime.</param>
/// <param name="Tag">Image to run: <c>sandboxps-runtime/NAME:HASH</c>, or the runtime's own <c>image</c>.</param>
/// <param name="Built">True when this call built it; false on a cache hit or for a prebuilt image.</param>
public sealed record RuntimeImage(RuntimeConfig Config, string Tag, bool Built);
