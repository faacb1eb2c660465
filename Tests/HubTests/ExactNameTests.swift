import Testing

@testable import Hub

@Suite("Exact names")
struct ExactNameTests {
    @Test func canonicallyEquivalentSpellingsAreDifferentNames() {
        #expect("\u{212A}elvin" == "Kelvin", "Swift String == is canonical equivalence")
        #expect(ExactName("\u{212A}elvin") != ExactName("Kelvin"))
        #expect(ExactName("caf\u{E9}") != ExactName("cafe\u{301}"))
        #expect(ExactName("ｋ") != ExactName("k"), "full-width")
        let names: Set<ExactName> = ["Kelvin", "caf\u{E9}"]
        #expect(!names.contains(ExactName("\u{212A}elvin")))
        #expect(!names.contains(ExactName("cafe\u{301}")))
        #expect(names.contains(ExactName("Kelvin")))
        #expect(names.contains(ExactName("caf\u{E9}")))
    }

    @Test func equalNamesHashAlike() {
        var names: Set<ExactName> = []
        names.insert(ExactName(String("chat_" + "message")))
        #expect(names.contains("chat_message"))
        #expect(names.count == 1)
        names.insert("chat_message")
        #expect(names.count == 1)
    }
}
