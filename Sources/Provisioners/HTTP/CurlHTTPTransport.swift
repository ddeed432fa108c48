import CCurl
public import ClusterKit
import Dispatch
import Synchronization

/// The libcurl transport: one fresh easy handle per request, performed on a dedicated dispatch
/// queue so the blocking `curl_easy_perform` never occupies a thread of Swift's cooperative pool.
///
/// The server is always verified: against the system store or a CA file (`CURLOPT_SSL_VERIFYPEER=1`,
/// `CURLOPT_SSL_VERIFYHOST=2`), or, for ``TLSTrust/pinnedPublicKey(_:)``, by its exact public key
/// alone (see ``trust(_:_:)``). Proxy environment
/// variables (`https_proxy`, `no_proxy`, ...) are honoured because libcurl reads them by default
/// and nothing here turns that off (libcurl docs, CURLOPT_PROXY).
public struct CurlHTTPTransport: HTTPTransport {
    private static let queue = DispatchQueue(label: "clusterctl.http.curl", qos: .userInitiated, attributes: .concurrent)

    public var configuration: HTTPClientConfiguration

    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        self.configuration = configuration
    }

    public func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let transfer = CurlTransfer()
        let configuration = configuration
        let result: Result<HTTPResponse, HTTPError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                Self.queue.async {
                    do throws(HTTPError) {
                        continuation.resume(returning: .success(try Self.perform(request, configuration, transfer)))
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
            }
        } onCancel: {
            transfer.cancelled.store(true, ordering: .relaxed)
        }
        return try result.get()
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let parts = duration.components
        return max(1, Int(parts.seconds) * 1000 + Int(parts.attoseconds / 1_000_000_000_000_000))
    }

    /// How the server is verified.
    ///
    /// A pin alone is the whole trust, like an SSH host key: a stock Proxmox VE certificate is
    /// self-signed, so no chain or name check can pass, and the key's hash is the thing the user
    /// checked. libcurl compares the pin during the handshake even with `CURLOPT_SSL_VERIFYPEER`
    /// off and "aborts the connection before sending or receiving any data" on a mismatch
    /// (libcurl docs, CURLOPT_PINNEDPUBLICKEY: "This option is independent of option
    /// CURLOPT_SSL_VERIFYPEER"), so chain and host checks are turned off only in that case.
    private static func trust(_ handle: CurlEasyHandle, _ configuration: HTTPClientConfiguration) throws(HTTPError) {
        switch configuration.tls {
        case .pinnedPublicKey(let pin):
            try handle.set(CURLOPT_PINNEDPUBLICKEY, pin)
            try handle.set(CURLOPT_SSL_VERIFYPEER, 0)
            try handle.set(CURLOPT_SSL_VERIFYHOST, 0)
            return
        case .system:
            break
        case .caFile(let path):
            try handle.set(CURLOPT_CAINFO, path)
        }
        try handle.set(CURLOPT_SSL_VERIFYPEER, 1)
        try handle.set(CURLOPT_SSL_VERIFYHOST, 2)
        // An extra pin on top of a verified chain (a CA file and the server's key, say).
        if let pin = configuration.pinnedPublicKey { try handle.set(CURLOPT_PINNEDPUBLICKEY, pin) }
        if let authority = configuration.certificateAuthorityPEM {
            // The blob takes precedence over CURLOPT_CAINFO; clearing CAPATH as well keeps the
            // system's CA directory out, so only the given CAs are trusted (libcurl docs,
            // CURLOPT_CAINFO_BLOB and CURLOPT_CAPATH).
            try handle.set(CURLOPT_CAINFO_BLOB, blob: Array(authority.utf8))
            try handle.set(CURLOPT_CAPATH, pointer: nil)
        }
    }

    /// The client certificate a server that asks for one (the Kubernetes API server) checks.
    private static func identify(_ handle: CurlEasyHandle, _ configuration: HTTPClientConfiguration) throws(HTTPError) {
        guard let identity = configuration.clientIdentity else { return }
        try handle.set(CURLOPT_SSLCERTTYPE, "PEM")
        try handle.set(CURLOPT_SSLCERT_BLOB, blob: Array(identity.certificatePEM.utf8))
        try handle.set(CURLOPT_SSLKEYTYPE, "PEM")
        try handle.set(CURLOPT_SSLKEY_BLOB, blob: Array(identity.keyPEM.utf8))
    }

    private static func perform(_ request: HTTPRequest, _ configuration: HTTPClientConfiguration, _ transfer: CurlTransfer) throws(HTTPError) -> HTTPResponse {
        let handle = try CurlEasyHandle()
        try handle.set(CURLOPT_URL, request.url)
        // Only HTTP(S): a redirect or a typo must not reach file:// or other schemes.
        try handle.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try handle.set(CURLOPT_NOSIGNAL, 1)
        try trust(handle, configuration)
        try identify(handle, configuration)
        try handle.set(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(configuration.connectTimeout))
        try handle.set(CURLOPT_TIMEOUT_MS, milliseconds(configuration.totalTimeout))
        try handle.set(CURLOPT_USERAGENT, configuration.userAgent)
        try handle.set(CURLOPT_ACCEPT_ENCODING, "")

        switch request.method {
        case .get:
            try handle.set(CURLOPT_HTTPGET, 1)
        case .post:
            try handle.set(CURLOPT_POST, 1)
        case .put, .patch, .delete:
            try handle.set(CURLOPT_CUSTOMREQUEST, request.method.rawValue)
        }
        if let body = request.body, !body.isEmpty {
            // Size first, then COPYPOSTFIELDS copies exactly that many bytes (NULs included).
            try handle.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(body.count))
            let code = body.withUnsafeBytes { buffer in
                cc_setopt_pointer(handle.raw, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            }
            try handle.check(code, "setting the request body")
        } else if request.method != .get, request.body != nil || request.method == .post {
            try handle.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: 0)
            try handle.set(CURLOPT_COPYPOSTFIELDS, "")
        }
        // "Expect:" turns off libcurl's `Expect: 100-continue` wait for larger bodies.
        try handle.setHeaders(request.headers.map { "\($0.name): \($0.value)" } + ["Expect:"])

        let context = Unmanaged.passUnretained(transfer).toOpaque()
        try handle.set(CURLOPT_WRITEFUNCTION, callback: CurlTransfer.write)
        try handle.set(CURLOPT_WRITEDATA, pointer: context)
        try handle.set(CURLOPT_HEADERFUNCTION, callback: CurlTransfer.header)
        try handle.set(CURLOPT_HEADERDATA, pointer: context)
        try handle.setProgress(CurlTransfer.progress)
        try handle.set(CURLOPT_XFERINFODATA, pointer: context)
        try handle.set(CURLOPT_NOPROGRESS, 0)

        do {
            try handle.perform()
            withExtendedLifetime(transfer) {}
        } catch {
            if error.curlCode == Int(CURLE_ABORTED_BY_CALLBACK.rawValue) {
                throw HTTPError(code: .invalidRequest, message: "\(request.method.rawValue) request cancelled", cause: CancellationError())
            }
            throw error
        }
        return HTTPResponse(status: try handle.responseCode(), headers: transfer.headers, body: transfer.body)
    }
}
