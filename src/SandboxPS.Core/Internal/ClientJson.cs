using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Internal;

/// <summary>
/// JSON for the client side. Requests use the strict source-generated context; responses are read
/// leniently (unknown members skipped) so a newer server that adds fields does not break an older client.
/// </summary>
internal static class ClientJson
{
    public static readonly JsonSerializerOptions Lenient = new(ProtocolJsonContext.Default.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    public static JsonTypeInfo<T> Read<T>() => (JsonTypeInfo<T>)Lenient.GetTypeInfo(typeof(T));
}
