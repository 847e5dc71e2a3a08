using System.Text.Json.Serialization;

namespace Ci.Isolation.Init;

/// <summary>
/// The runtime's serializer of the spec and result (<see cref="InitSpec"/>, <see cref="InitResult"/>). Compiled into the runtime
/// only: runner-init reads and writes the same JSON through <see cref="InitWire"/>, without System.Text.Json.
/// </summary>
[JsonSerializable(typeof(InitSpec))]
[JsonSerializable(typeof(InitResult))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
public sealed partial class InitJson : JsonSerializerContext;
