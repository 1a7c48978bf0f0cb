using System.Net.Sockets;
using Polly;
using Polly.Retry;

namespace SandboxPS.Core.Internal;

/// <summary>
/// The one retry pipeline every <see cref="SandboxClient"/> shares (built once). It retries only
/// transport failures that happen before a response arrives — connection refused or reset, a socket
/// that is not there yet — with a short exponential backoff. Non-GET calls carry an X-Request-Id that
/// stays the same across attempts, so the server runs each logical call at most once.
/// </summary>
internal static class ClientResilience
{
    public const int MaxRetryAttempts = 4;

    public static ResiliencePipeline Transport { get; } = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder()
                .Handle<HttpRequestException>()
                .Handle<SocketException>()
                .Handle<IOException>(),
            MaxRetryAttempts = MaxRetryAttempts,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(20),
            MaxDelay = TimeSpan.FromMilliseconds(400),
            UseJitter = true,
        })
        .Build();
}
