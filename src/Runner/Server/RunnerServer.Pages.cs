using Microsoft.AspNetCore.Routing;

namespace Ci.Runner.Server;

public sealed partial class RunnerServer
{
    private void MapPages(IEndpointRouteBuilder app)
    {
    }
}
