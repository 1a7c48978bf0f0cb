using SandboxPS.Core.Providers.Docker;
using SandboxPS.Core.Providers.Process;

namespace SandboxPS.Core;

/// <summary>
/// The providers <see cref="SandboxManager.Default"/> knows, in listing order. Provider owners add a
/// factory line here when their provider lands (e.g. <c>() =&gt; new DockerSandboxProvider()</c>).
/// Factories must be cheap and must not fail when their backend is down: report that from the calls.
/// </summary>
internal static class BuiltInProviders
{
    internal static readonly IReadOnlyList<Func<ISandboxProvider>> Factories =
    [
        () => new ProcessSandboxProvider(),
        () => new DockerProvider(),
    ];

    /// <summary>The name of the provider <c>sandboxps new</c> uses when none is given.</summary>
    internal const string DefaultProvider = ProcessSandboxProvider.ProviderName;

    internal static IEnumerable<ISandboxProvider> Create() => Factories.Select(f => f());
}
