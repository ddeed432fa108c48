/// Everything ``GitOpsRepository/bootstrap(_:)`` needs: where, what, and how to authenticate.
public struct GitOpsBootstrapRequest: Sendable {
    public var layout: FluxBootstrapLayout
    public var components: FluxComponents
    public var credentials: GitOpsCredentials

    public init(layout: FluxBootstrapLayout, components: FluxComponents, credentials: GitOpsCredentials) {
        self.layout = layout
        self.components = components
        self.credentials = credentials
    }
}
