public import ClusterKit
public import Foundation

/// Finds the Flux components manifest a spec pins: a local file (air-gapped), or the release
/// asset downloaded through the libcurl HTTP client and checked against the pinned SHA-256
/// before anything else looks at it.
public struct FluxComponentsSource: Sendable {
    /// Where releases are downloaded from; `<base>/<version>/install.yaml`.
    public var releaseBaseURL: String
    public var http: HTTPClient
    /// Redirects followed (GitHub answers a release download with a 302 to its object store).
    public var maxRedirects = 5

    /// fluxcd/flux2's release downloads (`https://github.com/fluxcd/flux2/releases/download/<tag>/install.yaml`,
    /// the asset the Flux docs' "Install Flux with kubectl" applies).
    public static let githubReleases = "https://github.com/fluxcd/flux2/releases/download"

    public init(
        http: HTTPClient = HTTPClient(transport: CurlHTTPTransport(configuration: HTTPClientConfiguration(totalTimeout: .seconds(300)))),
        releaseBaseURL: String = FluxComponentsSource.githubReleases
    ) {
        self.http = http
        self.releaseBaseURL = releaseBaseURL
    }

    /// The URL of a release's components manifest.
    public func releaseURL(version: String) -> String { "\(releaseBaseURL)/\(version)/install.yaml" }

    /// Loads the components `flux` names: `componentsFile` when given (checked against
    /// `version`/`sha256` when those are given too), else the pinned release. A downloaded
    /// release is kept in `cacheDirectory` (e.g. the cluster's directory) and read from there
    /// next time, after the same digest check, so re-runs need no network.
    public func load(
        _ flux: FluxSpec?, cacheDirectory: URL? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> FluxComponents {
        guard let flux else {
            throw ClusterError(.invalidSpec, "gitops.flux is missing: clusterctl installs Flux only at a pinned version",
                hint: "add `flux: {version: v2.9.4, sha256: <sha256 of its install.yaml>}` or `flux: {componentsFile: <flux install --export output>}` under gitops")
        }
        if let file = flux.componentsFile {
            let path = GitOpsCredentialResolution.expand(file, environment)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ClusterError(.notFound, "cannot read gitops.flux.componentsFile \(path)",
                    hint: "write it with `flux install --export > \(file)` on a machine with the flux CLI")
            }
            let components = try FluxComponents(manifest: String(decoding: data, as: UTF8.self), origin: path)
            try components.verify(version: flux.version, sha256: flux.sha256, origin: path)
            return components
        }
        guard let version = flux.version, let sha256 = flux.sha256 else {
            throw ClusterError(.invalidSpec, "gitops.flux pins no complete release",
                hint: "give both version and sha256, or componentsFile")
        }
        let url = releaseURL(version: version)
        let cached = cacheDirectory?.appendingPathComponent("flux-\(version)-install.yaml")
        if let cached, let data = FileManager.default.contents(atPath: cached.path), FluxComponents.digest(Array(data)) == sha256 {
            return try FluxComponents(manifest: String(decoding: data, as: UTF8.self), origin: cached.path)
        }
        let body = try await download(url)
        let digest = FluxComponents.digest(body)
        guard digest == sha256 else {
            throw ClusterError(.refused, "\(url) has SHA-256 \(digest), not the pinned \(sha256); it was not used",
                hint: "check gitops.flux.sha256 against the release's checksums; a mismatch can mean a tampered download")
        }
        let components = try FluxComponents(manifest: String(decoding: body, as: UTF8.self), origin: url)
        try components.verify(version: version, sha256: nil, origin: url)
        // Public data, but written atomically so a crash never leaves half a manifest to trust.
        if let cached { try SecureFile.write(components.manifest, to: cached, mode: 0o644) }
        return components
    }

    private func download(_ start: String) async throws -> [UInt8] {
        var url = start
        for _ in 0...maxRedirects {
            do {
                return try await http.send(HTTPRequest(method: .get, url: url)).body
            } catch let error as HTTPError {
                guard let response = error.response, (300..<400).contains(response.status), let location = response.header("location"),
                    let next = URL(string: location, relativeTo: URL(string: url))?.absoluteString
                else {
                    throw ClusterError(.provider, "cannot download the Flux components from \(url): \(error.message)",
                        hint: "for an air-gapped install, set gitops.flux.componentsFile to `flux install --export` output", cause: error)
                }
                if url.hasPrefix("https://") && !next.hasPrefix("https://") {
                    throw ClusterError(.refused, "\(url) redirected to \(next), which is not HTTPS; it was not followed")
                }
                url = next
            }
        }
        throw ClusterError(.provider, "downloading \(start) was redirected more than \(maxRedirects) times")
    }
}
