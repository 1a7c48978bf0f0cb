using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;

namespace SandboxPS.Commands;

/// <summary>
/// Lets a <c>-Sandbox</c> parameter take a Sandbox object, a session, an action result, an id or a name
/// (resolved later, asynchronously, by the cmdlet). Deserialized objects bind by their SandboxId or Id.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class SandboxRefTransformationAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        try
        {
            if (inputData is PSObject { BaseObject: PSCustomObject } custom)
            {
                var key = custom.Properties["SandboxId"]?.Value ?? custom.Properties["Id"]?.Value;
                return SandboxRef.FromObject(key?.ToString());
            }
            return SandboxRef.FromObject(inputData is PSObject ps ? ps.BaseObject : inputData);
        }
        catch (SandboxException ex)
        {
            throw new ArgumentTransformationMetadataException(ex.Message, ex);
        }
    }
}

/// <summary>
/// Reads durations as people write them (<c>90s</c>, <c>10m</c>, <c>1h30m</c>, a number of seconds, or a
/// TimeSpan). Without it, PowerShell would turn <c>600</c> into 600 ticks.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class DurationTransformationAttribute(string parameterName) : ArgumentTransformationAttribute
{
    /// <summary>The parameter, for error messages.</summary>
    public string ParameterName { get; } = parameterName;

    /// <inheritdoc />
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        try
        {
            return ParameterConversion.ToDuration(inputData is PSObject ps ? ps.BaseObject : inputData, ParameterName);
        }
        catch (SandboxException ex)
        {
            throw new ArgumentTransformationMetadataException(ex.Message, ex);
        }
    }
}
