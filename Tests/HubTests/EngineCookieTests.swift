import EngineIO
import Testing

@Suite("The io cookie (sticky sessions)")
struct EngineCookieTests {
    @Test func socketIODefaults() {
        #expect(EngineCookie().header(sessionID: "abc123") == "io=abc123; Path=/; HttpOnly; SameSite=Lax")
    }

    @Test func customAttributes() {
        let cookie = EngineCookie(name: "sticky", path: "/app", httpOnly: false, sameSite: .strict)
        #expect(cookie.header(sessionID: "x") == "sticky=x; Path=/app; SameSite=Strict")
    }

    @Test func offByDefault() {
        #expect(EngineConfiguration().cookie == nil)
    }
}
