using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ci.Runner.Server;

public sealed partial class RunnerServer
{
    /// <summary>
    /// The pages: static HTML, CSS and script from the binary's resources; the script reads the
    /// JSON API. A strict Content-Security-Policy (scripts and styles from this server only, no
    /// inline script) backs up the script's rule that run text is only ever set as text.
    /// </summary>
    private static void MapPages(IEndpointRouteBuilder app)
    {
        app.MapGet("/", context => AssetAsync(context, "index.html", "text/html; charset=utf-8"));
        app.MapGet("/runs/{id:long}", context => AssetAsync(context, "run.html", "text/html; charset=utf-8"));
        app.MapGet("/static/app.js", context => AssetAsync(context, "app.js", "text/javascript; charset=utf-8"));
        app.MapGet("/static/app.css", context => AssetAsync(context, "app.css", "text/css; charset=utf-8"));
    }

    private static async Task AssetAsync(HttpContext context, string name, string contentType)
    {
        await using var asset = typeof(RunnerServer).Assembly.GetManifestResourceStream("web/" + name)
            ?? throw new InvalidOperationException($"the binary lacks its page resource {name}");
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "same-origin";
        headers.CacheControl = "no-cache";
        context.Response.ContentType = contentType;
        await asset.CopyToAsync(context.Response.Body, context.RequestAborted);
    }
}
