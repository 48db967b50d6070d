import SegmentSpec
import Testing

@Suite("X-Segment-Settings: credentials redacted by pattern")
struct SegmentSettingsRedactionTests {
    static func redact(_ json: String) throws -> JSONValue {
        SegmentSettings.redactingCredentials(try JSONParser.parse(json))
    }

    /// Names real Segment destinations (and Webhooks, Functions) give their credentials.
    @Test("credential-like names are redacted in any case and spelling", arguments: [
        "apiKey", "api_key", "API-Key", "APIKEY", "apikey", "writeKey", "write_key", "accessToken", "access_token", "refreshToken",
        "clientSecret", "client_secret", "password", "Password", "PASSWORD", "pwd", "db_pwd", "smtpPwd", "pass", "db_pass", "dbPass",
        "passwd", "passphrase", "bearer", "bearerToken", "bearer_token", "sharedSecret", "signingSecret", "signature", "sig", "webhook_sig",
        "auth", "authToken", "authorization", "Authorization", "oauth", "basicAuth", "credentials", "serviceAccountCredentials",
        "privateKey", "secretAccessKey", "aws_secret_access_key", "x-api-key", "hmac", "hmacSecret", "jwt", "sentryDsn", "dsn",
        "connectionString", "sessionCookie", "appSecret", "consumerKey", "ingestionKey", "licenseKey", "token", "TOKEN", "pw",
    ])
    func credentialNames(name: String) throws {
        #expect(SegmentSettings.isCredentialName(name), "\(name) must be redacted")
        let redacted = try Self.redact(#"{"\#(name)":"s3cr3t-value","other":1}"#)
        #expect(redacted == ["\(name)": "[redacted]", "other": 1])
    }

    @Test("ordinary settings are kept as sent", arguments: [
        "region", "endpoint", "apiHost", "apiVersion", "author", "authorName", "design", "compass", "passthrough", "bypassCache",
        "signal", "channel", "datacenter", "trackNamedPages", "host", "port", "username", "user", "email", "webhookUrl", "url",
        "workspace", "projectId", "spinner", "pinned", "sample_rate",
    ])
    func ordinaryNames(name: String) throws {
        #expect(!SegmentSettings.isCredentialName(name), "\(name) must be kept")
        let json = #"{"\#(name)":"eu-west-1"}"#
        #expect(try Self.redact(json) == (try JSONParser.parse(json)))
    }

    @Test("a table of real Segment destination settings: credentials gone at any depth, everything else kept")
    func realSettings() throws {
        let settings = """
            {"apiKey":"amp-123","api_key":"mp-456","writeKey":"wk-789","accessToken":"at-1","clientSecret":"cs-2","password":"pw-3",
             "pwd":"pw-4","bearerToken":"bt-5","sharedSecret":"ss-6","signingSecret":"sg-7","sig":"sig-8","pass":"pass-9",
             "region":"eu","endpoint":"https://api.eu.amplitude.com/2/httpapi","trackAllPages":false,"useToken":true,"authMethod":null,
             "webhookUrl":"https://hooks-user:hooks-pass@hooks.example.com/segment?team=a&token=tk-10&x=1",
             "webhooks":[{"url":"https://u:p-11@hooks.example.com/a","headers":[{"key":"Authorization","value":"Bearer bearer-12"},{"key":"X-Team","value":"growth"}]}],
             "oauth":{"clientId":"cid","clientSecret":"cs-13"},
             "destinations":[{"name":"braze","settings":{"restApiKey":"rk-14","appId":"app-1","restEndpoint":"https://rest.iad-01.braze.com"}}],
             "mailer":{"smtp":{"host":"smtp.example.com","user":"ops","password":"pw-15"}},
             "headers":{"Authorization":"Basic YWxhZGRpbjpvcGVuc2VzYW1l","Content-Type":"application/json"},
             "note":"Basic plan","numbers":[1,2],"apiKeyRotation":{"enabled":true}}
            """
        let redacted = try Self.redact(settings)
        let text = redacted.encodedString()
        for secret in ["amp-123", "mp-456", "wk-789", "at-1", "cs-2", "pw-3", "pw-4", "bt-5", "ss-6", "sg-7", "sig-8", "pass-9",
                       "hooks-user", "hooks-pass", "tk-10", "p-11", "bearer-12", "cs-13", "rk-14", "pw-15", "YWxhZGRpbjpvcGVuc2VzYW1l"] {
            #expect(!text.contains(secret), "\(secret) is still in \(text)")
        }
        #expect(redacted["region"] == "eu")
        #expect(redacted["endpoint"] == "https://api.eu.amplitude.com/2/httpapi")
        #expect(redacted["trackAllPages"] == false)
        #expect(redacted["useToken"] == true, "a flag is no secret")
        #expect(redacted["authMethod"] == .null)
        #expect(redacted["webhookUrl"] == "https://[redacted]@hooks.example.com/segment?team=a&token=[redacted]&x=1")
        #expect(redacted["webhooks"]?[0]?["url"] == "https://[redacted]@hooks.example.com/a")
        #expect(redacted["webhooks"]?[0]?["headers"]?[0]?["value"] == "[redacted]")
        #expect(redacted["webhooks"]?[0]?["headers"]?[1] == ["key": "[redacted]", "value": "growth"], "only a credential header's value goes")
        #expect(redacted["oauth"] == "[redacted]")
        #expect(redacted["destinations"]?[0]?["settings"] == ["restApiKey": "[redacted]", "appId": "app-1", "restEndpoint": "https://rest.iad-01.braze.com"])
        #expect(redacted["destinations"]?[0]?["name"] == "braze")
        #expect(redacted["mailer"]?["smtp"] == ["host": "smtp.example.com", "user": "ops", "password": "[redacted]"])
        #expect(redacted["headers"]?["Content-Type"] == "application/json")
        #expect(redacted["note"] == "Basic plan", "words after a scheme name are not a credential")
        #expect(redacted["numbers"] == [1, 2])
        #expect(redacted["apiKeyRotation"] == "[redacted]", "a credential-like name hides its whole object")
    }

    @Test("credentials inside strings: URL user and password, credential query parameters, Authorization values", arguments: [
        ("https://user:pass@host.example/path", "https://[redacted]@host.example/path"),
        ("https://key@o123.ingest.sentry.io/42", "https://[redacted]@o123.ingest.sentry.io/42"),
        ("postgres://app:p%40ss@db:5432/app", "postgres://[redacted]@db:5432/app"),
        ("https://a.example/x?api_key=k1&region=eu", "https://a.example/x?api_key=[redacted]&region=eu"),
        ("https://a.example/x?ApiKey=k1#frag", "https://a.example/x?ApiKey=[redacted]#frag"),
        ("https://a.example/x?api%5Fkey=k1", "https://a.example/x?api%5Fkey=[redacted]"),
        ("https://one:1@a.example, https://two:2@b.example", "https://[redacted]@a.example, https://[redacted]@b.example"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "Bearer [redacted]"),
        ("https://api.example.com/v2", "https://api.example.com/v2"),
        ("https://api.example.com/v2?region=eu&limit=10", "https://api.example.com/v2?region=eu&limit=10"),
        ("user@example.com", "user@example.com"),
        ("what?", "what?"),
    ])
    func credentialsInText(text: String, expected: String) throws {
        #expect(SegmentSettings.redactingCredentials(.string(text)) == .string(expected))
    }
}
