using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SandboxPS.Protocol;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ProtocolJsonContext.Default));
var app = builder.Build();
app.MapGet("/health", () => Results.Json(new HealthResponse("ok", "0.1.0", ProtocolConstants.Version), ProtocolJsonContext.Default.HealthResponse));
app.Run();
