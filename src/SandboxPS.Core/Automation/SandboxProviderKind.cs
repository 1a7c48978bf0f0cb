namespace SandboxPS.Core.Automation;

/// <summary>The built-in providers, as PowerShell users pick them (<c>-Provider Docker</c>; tab completion for free).</summary>
public enum SandboxProviderKind
{
    /// <summary>A process tree on this machine (no isolation beyond the user account; fast).</summary>
    Process,
    /// <summary>A Docker container on the local engine (DOCKER_HOST or the default socket).</summary>
    Docker,
}

/// <summary>Maps <see cref="SandboxProviderKind"/> to the core's provider names.</summary>
internal static class SandboxProviderKinds
{
    /// <summary>The provider name the core uses (<c>process</c>, <c>docker</c>).</summary>
    public static string ToProviderName(this SandboxProviderKind kind) => kind switch
    {
        SandboxProviderKind.Process => "process",
        SandboxProviderKind.Docker => "docker",
        _ => throw new SandboxException(SandboxErrorKind.InvalidArgument, "UnknownProvider",
            $"'{kind}' is not a provider. Valid providers: {string.Join(", ", Enum.GetNames<SandboxProviderKind>())}.", kind.ToString()),
    };
}
