#include "Config.h"
#include "ConfigTestSupport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace {

using namespace hostd::test;
namespace fs = std::filesystem;

struct BadCase {
    std::string name;  ///< Test name suffix.
    std::string text;  ///< Contents of main.conf.
    std::vector<std::string> expected;  ///< Every issue's str(), in order.
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

const std::vector<BadCase> kBadCases = {
    {"UnknownSection",
     "[server]\nport = 80\n",  // the keys of a rejected section are not reported again
     {"main.conf:1: unknown section [server] (expected [hostd] or [plugin.NAME])"}},
    {"EmptySectionName", "[]\n", {"main.conf:1: unknown section [] (expected [hostd] or [plugin.NAME])"}},
    {"SectionHeaderWithoutClosingBracket",
     "[hostd\nstop_timeout = 5s\n",
     {"main.conf:1: section header '[hostd' lacks a closing ']'"}},
    {"KeyOutsideAnySection",
     "# leading comment\n\nfoo = 1\n[hostd]\n",
     {"main.conf:3: key 'foo' outside any section"}},
    {"LineWithoutEquals",
     "[hostd]\njust some words\n",
     {"main.conf:2: expected 'key = value', '[section]' or a comment, got 'just some words'"}},
    {"InvalidKeyCharacters",
     "[plugin.web]\nbad key = 1\n",
     {"main.conf:2: invalid key 'bad key' (letters, digits, '_', '-', '.')"}},
    {"EmptyKey", "[plugin.web]\n = 1\n", {"main.conf:2: invalid key '' (letters, digits, '_', '-', '.')"}},
    {"DuplicateKeyInOneFile",
     "[hostd]\nstop_timeout = 5s\nlog_level = info\nstop_timeout = 6s\n",
     {"main.conf:4: duplicate key 'stop_timeout' in [hostd] (first set at line 2)"}},
    {"DuplicatePluginKeyInOneFile",
     "[plugin.web]\nport = 80\n\nport = 81\n",
     {"main.conf:4: duplicate key 'port' in [plugin.web] (first set at line 2)"}},
    {"DuplicateSectionInOneFile",
     "[plugin.web]\nport = 80\n[hostd]\n[plugin.web]\nhost = x\n",
     {"main.conf:4: section [plugin.web] already started at line 1"}},
    {"BadHostStopTimeout",
     "[hostd]\nstop_timeout = 1.5s\n",
     {"main.conf:2: stop_timeout = '1.5s' is not a duration (e.g. 500ms, 10s, 2m; a bare number is seconds)"}},
    {"BadPluginStopTimeoutInHost",
     "[hostd]\nplugin_stop_timeout = 10h\n",
     {"main.conf:2: plugin_stop_timeout = '10h' is not a duration (e.g. 500ms, 10s, 2m; a bare number is "
      "seconds)"}},
    {"BadPluginStopTimeout",
     "[plugin.web]\n\nstop_timeout = -1\n",
     {"main.conf:3: stop_timeout = '-1' is not a duration (e.g. 500ms, 10s, 2m; a bare number is seconds)"}},
    {"ZeroLoadTimeout",
     "[hostd]\nload_timeout = 0\n",
     {"main.conf:2: load_timeout = '0' must be more than 0: it bounds how long a plugin's load may hold the loop"}},
    {"EmptyDuration",
     "[hostd]\nstop_timeout =\n",
     {"main.conf:2: stop_timeout = '' is not a duration (e.g. 500ms, 10s, 2m; a bare number is seconds)"}},
    {"BadAllowSymlinksBoolean",
     "[hostd]\nallow_symlinks = maybe\n",
     {"main.conf:2: allow_symlinks = 'maybe' is not a boolean (true or false)"}},
    {"BadEnabledBoolean",
     "[plugin.web]\nenabled = 2\n",
     {"main.conf:2: enabled = '2' is not a boolean (true or false)"}},
    {"BadLogLevel",
     "[hostd]\nlog_level = verbose\n",
     {"main.conf:2: log_level = 'verbose' is not one of error, warning, notice, info, debug"}},
    {"RelativePluginDir",
     "[hostd]\nplugin_dir = lib/hostd\n",
     {"main.conf:2: plugin_dir = 'lib/hostd' must be an absolute path"}},
    {"EmptyPluginDir", "[hostd]\nplugin_dir =\n", {"main.conf:2: plugin_dir = '' must be an absolute path"}},
    {"InvalidPluginNameInHeader",
     "[plugin.my/plugin]\nport = 80\n",
     {"main.conf:1: invalid plugin name 'my/plugin' in [plugin.my/plugin] (allowed: A-Z a-z 0-9 _ -)"}},
    {"PluginNameWithSpace",
     "[ plugin.my plugin ]\n",
     {"main.conf:1: invalid plugin name 'my plugin' in [plugin.my plugin] (allowed: A-Z a-z 0-9 _ -)"}},
    {"EmptyPluginName",
     "[plugin.]\n",
     {"main.conf:1: invalid plugin name '' in [plugin.] (allowed: A-Z a-z 0-9 _ -)"}},
    {"RequiresSelf",
     "[plugin.web]\nrequires = db, web\n",
     {"main.conf:2: requires: plugin 'web' cannot require itself"}},
    {"RequiresInvalidName",
     "[plugin.web]\nrequires = db bad/name\n",
     {"main.conf:2: requires: invalid plugin name 'bad/name'"}},
    {"UnknownKeyInHostSection",
     "[hostd]\nthreads = 4\n",
     {"main.conf:2: unknown key 'threads' in [hostd]"}},
    {"ThreeErrorsAllReportedInLineOrder",
     // Line 4 is a syntax error found while parsing; lines 2 and 3 are found later, by
     // validation; the report is still in line order.
     "[hostd]\nstop_timeout = soon\nlog_level = loud\n[bogus]\n",
     {"main.conf:2: stop_timeout = 'soon' is not a duration (e.g. 500ms, 10s, 2m; a bare number is seconds)",
      "main.conf:3: log_level = 'loud' is not one of error, warning, notice, info, debug",
      "main.conf:4: unknown section [bogus] (expected [hostd] or [plugin.NAME])"}},
    {"ErrorsOfHostAndPluginSectionsInterleaveByLine",
     "[plugin.b]\nenabled = nah\n[hostd]\nallow_symlinks = nope\n[plugin.a]\nrequires = a\n",
     {"main.conf:2: enabled = 'nah' is not a boolean (true or false)",
      "main.conf:4: allow_symlinks = 'nope' is not a boolean (true or false)",
      "main.conf:6: requires: plugin 'a' cannot require itself"}},
    {"OneErrorPerBadRequiresItem",
     "[plugin.web]\nrequires = web, x.y, db\n",
     {"main.conf:2: requires: plugin 'web' cannot require itself",
      "main.conf:2: requires: invalid plugin name 'x.y'"}},
};

class ConfigRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigRejects, ReportsEveryErrorAsFileLineMessageAndGivesNoConfig) {
    const BadCase& c = GetParam();
    ConfigLoad load = parseOne(c.text);
    EXPECT_EQ(strs(load.issues), c.expected);
    EXPECT_EQ(load.config, nullptr);
    EXPECT_FALSE(load.ok());
    for (const auto& issue : load.issues) {
        EXPECT_EQ(issue.origin.file, "main.conf");
        EXPECT_FALSE(issue.warning);
    }
}

INSTANTIATE_TEST_SUITE_P(Config, ConfigRejects, ::testing::ValuesIn(kBadCases),
                         [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST(Config, IssuesCarryTheirLineNumbers) {
    ConfigLoad load = parseOne(
        "[hostd]\n"             // 1
        "\n"                    // 2
        "# comment\n"           // 3
        "stop_timeout = x\n"    // 4
        "; another comment\n"   // 5
        "[plugin.a]\n"          // 6
        "enabled = perhaps\n"   // 7
        "\n"                    // 8
        "no equals here\n");    // 9
    EXPECT_THAT(lines(load.issues), ElementsAre(4, 7, 9));
    EXPECT_EQ(load.config, nullptr);
}

TEST(Config, IssuesFromSeveralFilesAreOrderedByFileThenLine) {
    ConfigLoad load = parseConfig({
        {"main.conf", "[hostd]\nlog_level = chatty\n[plugin.web]\nrequires = web\n"},
        {"main.conf.d/10-x.conf", "[nope]\n[hostd]\nstop_timeout = later\n"},
    });
    // log_level and stop_timeout of [hostd] are validated after merging, but each issue
    // names the file and line where the value was written.
    EXPECT_THAT(strs(load.issues),
                ElementsAre("main.conf:2: log_level = 'chatty' is not one of error, warning, notice, info, debug",
                            "main.conf:4: requires: plugin 'web' cannot require itself",
                            "main.conf.d/10-x.conf:1: unknown section [nope] (expected [hostd] or [plugin.NAME])",
                            "main.conf.d/10-x.conf:3: stop_timeout = 'later' is not a duration (e.g. 500ms, 10s, "
                            "2m; a bare number is seconds)"));
    EXPECT_EQ(load.config, nullptr);
}

TEST(Config, DuplicateKeysAndSectionsAcrossFilesAreNotErrors) {
    ConfigLoad load = parseConfig({
        {"a.conf", "[hostd]\nstop_timeout = 5s\n[plugin.web]\nport = 1\n"},
        {"b.conf", "[hostd]\nstop_timeout = 6s\n[plugin.web]\nport = 2\n"},
    });
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_EQ(c.host.stopTimeout, 6s);
}

TEST(ConfigIssue, StrOmitsTheLineWhenItIsZeroAndMarksWarnings) {
    EXPECT_EQ((ConfigIssue{{"x.conf", 0}, "gone", false}).str(), "x.conf: gone");
    EXPECT_EQ((ConfigIssue{{"x.conf", 7}, "odd", true}).str(), "x.conf:7: warning: odd");
}

// ==== Good inputs ============================================================================

TEST(Config, NoSourcesGiveTheBuiltInDefaults) {
    ConfigLoad load = parseConfig({});
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_EQ(c.host.pluginDir, "/usr/lib/hostd");
    EXPECT_EQ(c.host.stopTimeout, 30s);
    EXPECT_EQ(c.host.pluginStopTimeout, 10s);
    EXPECT_EQ(c.host.logLevel, "info");
    EXPECT_FALSE(c.host.allowSymlinks);
    EXPECT_THAT(c.host.redactKeys, ElementsAre("password", "passwd", "secret", "token", "key", "credential"));
    EXPECT_THAT(c.plugins, IsEmpty());
    EXPECT_THAT(c.files, IsEmpty());
    EXPECT_THAT(c.hostOrigins, IsEmpty());
}

TEST(Config, AnEmptyFileGivesTheDefaultsAndIsListedAsRead) {
    ConfigLoad load = parseOne("");
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_EQ(c.host.stopTimeout, 30s);
    EXPECT_THAT(c.files, ElementsAre("main.conf"));
}

TEST(Config, CommentsBlankLinesAndSurroundingWhitespaceAreIgnored) {
    ConfigLoad load = parseOne(
        "# comment\n"
        "; also a comment\n"
        "   \n"
        "  [ hostd ]  \n"
        "\tstop_timeout   =   7s  \n"
        "   # indented comment\n");
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_EQ(c.host.stopTimeout, 7s);
}

TEST(Config, ParsesEveryHostSetting) {
    ConfigLoad load = parseOne(
        "[hostd]\n"
        "plugin_dir = /opt/hostd/plugins\n"
        "stop_timeout = 45s\n"
        "plugin_stop_timeout = 500ms\n"
        "log_level = debug\n"
        "allow_symlinks = yes\n"
        "redact_keys = pin, cred  passphrase\n");
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_EQ(c.host.pluginDir, "/opt/hostd/plugins");
    EXPECT_EQ(c.host.stopTimeout, 45s);
    EXPECT_EQ(c.host.pluginStopTimeout, 500ms);
    EXPECT_EQ(c.host.logLevel, "debug");
    EXPECT_TRUE(c.host.allowSymlinks);
    EXPECT_THAT(c.host.redactKeys, ElementsAre("pin", "cred", "passphrase"));
    EXPECT_THAT(c.plugins, IsEmpty());
    ASSERT_EQ(c.hostOrigins.size(), 6u);
    EXPECT_EQ(c.hostOrigins.at("plugin_dir").str(), "main.conf:2");
    EXPECT_EQ(c.hostOrigins.at("redact_keys").str(), "main.conf:7");
}

TEST(Config, LogLevelInformationIsNormalisedToInfo) {
    ConfigLoad load = parseOne("[hostd]\nlog_level = information\n");
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_EQ(c.host.logLevel, "info");
}

TEST(Config, AcceptsEveryDocumentedLogLevel) {
    for (const char* level : {"error", "warning", "notice", "info", "debug"}) {
        ConfigLoad load = parseOne(std::string("[hostd]\nlog_level = ") + level + "\n");
        ASSERT_TRUE(load.ok()) << level;
        EXPECT_EQ(load.config->host.logLevel, level);
    }
}

TEST(Config, ParsesAPluginSectionWithItsOwnAndPassThroughKeys) {
    ConfigLoad load = parseOne(
        "[plugin.web]\n"                  // 1
        "port = 8080\n"                   // 2
        "enabled = false\n"               // 3
        "requires = db, cache  log\n"     // 4
        "db.password = hunter2\n"         // 5
        "stop_timeout = 2m\n"             // 6
        "greeting = hello = world\n"      // 7
        "empty =\n");                     // 8
    const ConfigSnapshot& c = requireOk(load);
    ASSERT_EQ(c.plugins.size(), 1u);
    const PluginSection* web = c.plugin("web");
    ASSERT_NE(web, nullptr);
    EXPECT_EQ(web->name, "web");
    EXPECT_EQ(web->origin.str(), "main.conf:1");
    EXPECT_FALSE(web->enabled);
    EXPECT_THAT(web->dependencies, ElementsAre("db", "cache", "log"));
    EXPECT_EQ(web->stopTimeout, std::optional<Millis>(120s));
    // enabled, requires and stop_timeout are the host's; the rest pass through, in order.
    EXPECT_THAT(keyValues(web->settings),
                ElementsAre(std::pair<std::string, std::string>{"port", "8080"},
                            std::pair<std::string, std::string>{"db.password", "hunter2"},
                            std::pair<std::string, std::string>{"greeting", "hello = world"},
                            std::pair<std::string, std::string>{"empty", ""}));
    ASSERT_EQ(web->settings.size(), 4u);
    EXPECT_EQ(web->settings[0].origin.str(), "main.conf:2");
    EXPECT_EQ(web->settings[1].origin.str(), "main.conf:5");
    EXPECT_EQ(web->settings[3].origin.str(), "main.conf:8");
}

TEST(Config, APluginSectionWithoutKeysIsEnabledWithNoOverrides) {
    ConfigLoad load = parseOne("[hostd]\n[plugin.a_b-C9]\n");
    const ConfigSnapshot& c = requireOk(load);
    const PluginSection* p = c.plugin("a_b-C9");
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(p->enabled);
    EXPECT_THAT(p->dependencies, IsEmpty());
    EXPECT_EQ(p->stopTimeout, std::nullopt);
    EXPECT_THAT(p->settings, IsEmpty());
    EXPECT_EQ(c.plugin("missing"), nullptr);
    EXPECT_EQ(c.plugin("plugin.a_b-C9"), nullptr);
}

TEST(Config, LaterSourcesWinForHostKeysAndRecordTheirOrigin) {
    ConfigLoad load = parseConfig({
        {"main.conf",
         "[hostd]\n"
         "stop_timeout = 30s\n"
         "log_level = info\n"
         "plugin_dir = /usr/lib/hostd\n"},
        {"main.conf.d/50-local.conf",
         "# local overrides\n"
         "[hostd]\n"
         "stop_timeout = 5s\n"
         "plugin_dir = /opt/plugins\n"},
    });
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_EQ(c.host.stopTimeout, 5s);
    EXPECT_EQ(c.host.pluginDir, "/opt/plugins");
    EXPECT_EQ(c.host.logLevel, "info");
    EXPECT_EQ(c.hostOrigins.at("stop_timeout").str(), "main.conf.d/50-local.conf:3");
    EXPECT_EQ(c.hostOrigins.at("plugin_dir").str(), "main.conf.d/50-local.conf:4");
    EXPECT_EQ(c.hostOrigins.at("log_level").str(), "main.conf:3");
    EXPECT_THAT(c.files, ElementsAre("main.conf", "main.conf.d/50-local.conf"));
}

TEST(Config, LaterSourcesWinForPluginKeysWhichKeepTheirFirstPosition) {
    ConfigLoad load = parseConfig({
        {"main.conf",
         "[plugin.web]\n"
         "port = 80\n"
         "greeting = hi\n"
         "enabled = false\n"
         "requires = db\n"},
        {"main.conf.d/10-web.conf",
         "[plugin.web]\n"
         "extra = 1\n"
         "port = 8080\n"
         "enabled = true\n"
         "requires = cache\n"
         "stop_timeout = 3s\n"
         "[plugin.cache]\n"
         "size = 10\n"},
    });
    const ConfigSnapshot& c = requireOk(load);
    const PluginSection* web = c.plugin("web");
    ASSERT_NE(web, nullptr);
    EXPECT_TRUE(web->enabled);
    EXPECT_THAT(web->dependencies, ElementsAre("cache"));
    EXPECT_EQ(web->stopTimeout, std::optional<Millis>(3s));
    EXPECT_EQ(web->origin.str(), "main.conf:1");  // the first header
    EXPECT_THAT(keyValues(web->settings),
                ElementsAre(std::pair<std::string, std::string>{"port", "8080"},
                            std::pair<std::string, std::string>{"greeting", "hi"},
                            std::pair<std::string, std::string>{"extra", "1"}));
    ASSERT_EQ(web->settings.size(), 3u);
    EXPECT_EQ(web->settings[0].origin.str(), "main.conf.d/10-web.conf:3");
    EXPECT_EQ(web->settings[1].origin.str(), "main.conf:3");

    const PluginSection* cache = c.plugin("cache");
    ASSERT_NE(cache, nullptr);
    EXPECT_EQ(cache->origin.str(), "main.conf.d/10-web.conf:7");
    EXPECT_THAT(keyValues(cache->settings), ElementsAre(std::pair<std::string, std::string>{"size", "10"}));
}

// ==== Secrets ================================================================================

TEST(Config, KeysContainingARedactWordAsAWholeWordAreSecret) {
    ConfigSnapshot c;  // default redact_keys: password, passwd, secret, token, key, credential
    for (const char* key : {"password", "api_key", "db.password", "token", "client-secret", "API_KEY", "Token", "apiKey",
                            "clientSecret", "db_passwd", "credential", "APIKey", "awsSecretAccessKey", "oauth2Token"})
        EXPECT_TRUE(c.isSecret(key)) << key;
}

TEST(Config, KeyWordsSplitSnakeKebabDotsAndCamelCase) {
    using hostd::keyWords;
    EXPECT_THAT(keyWords("apiKey"), ElementsAre("api", "key"));
    EXPECT_THAT(keyWords("APIKey"), ElementsAre("api", "key"));
    EXPECT_THAT(keyWords("db_passwd"), ElementsAre("db", "passwd"));
    EXPECT_THAT(keyWords("x.client-SECRET"), ElementsAre("x", "client", "secret"));
    EXPECT_THAT(keyWords("oauth2Token"), ElementsAre("oauth2", "token"));
    EXPECT_THAT(keyWords("keyboard"), ElementsAre("keyboard"));
}

TEST(Config, KeysContainingARedactWordOnlyAsPartOfAWordAreNotSecret) {
    ConfigSnapshot c;
    for (const char* key : {"keyboard", "monkey", "passwords", "tokenizer", "port", "", "db.host"})
        EXPECT_FALSE(c.isSecret(key)) << key;
}

TEST(Config, KeysEndingInFileNameWhereASecretIsKeptAndAreNotSecret) {
    ConfigSnapshot c;
    for (const char* key : {"token_file", "metrics_token_file", "api_key_file", "password_FILE", "apiKeyFile"})
        EXPECT_FALSE(c.isSecret(key)) << key;
}

TEST(Config, RedactionOfAnErrorNeverTouchesTheKeyNameAndEnds) {
    // plugin_dir is secret here; its value occurs in the key's name, and in "<redacted>" itself.
    ConfigLoad load = parseOne("[hostd]\nredact_keys = dir\nplugin_dir = d\n");
    EXPECT_THAT(strs(load.issues), ElementsAre("main.conf:3: plugin_dir = '<redacted>' must be an absolute path"));
}

TEST(Config, RedactKeysReplacesTheDefaultWords) {
    ConfigLoad load = parseOne("[hostd]\nredact_keys = pin, passphrase\n");
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_TRUE(c.isSecret("pin"));
    EXPECT_TRUE(c.isSecret("card.pin"));
    EXPECT_TRUE(c.isSecret("passphrase"));
    EXPECT_FALSE(c.isSecret("password"));
    EXPECT_FALSE(c.isSecret("api_key"));
}

// Fails against Config.cpp as written: isSecret() lower-cases the key but compares it with the
// redact words as configured, so a word with any capital letter can never match any key and
// the values it was meant to hide are logged. (Bug report: lower-case the words too.)
TEST(Config, RedactWordsWithCapitalLettersStillRedact) {
    ConfigLoad load = parseOne("[hostd]\nredact_keys = Password, API\n");
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_TRUE(c.isSecret("password"));
    EXPECT_TRUE(c.isSecret("db.Password"));
    EXPECT_TRUE(c.isSecret("api_token"));
    EXPECT_EQ(c.display("password", "hunter2"), "<redacted>");
}

TEST(Config, DisplayRedactsSecretValuesOnly) {
    ConfigSnapshot c;
    EXPECT_EQ(c.display("db.password", "hunter2"), "<redacted>");
    EXPECT_EQ(c.display("api_key", "abc123"), "<redacted>");
    EXPECT_EQ(c.display("port", "8080"), "8080");
    EXPECT_EQ(c.display("keyboard", "qwerty"), "qwerty");
}

// ==== PluginSection::sameSettings ============================================================

PluginSection sectionWith(std::vector<PluginSetting> settings) {
    PluginSection p;
    p.name = "web";
    p.settings = std::move(settings);
    return p;
}

TEST(PluginSection, SameSettingsIgnoresOriginsAndHostKeys) {
    PluginSection a = sectionWith({{"port", "80", {"a.conf", 2}}, {"host", "x", {"a.conf", 3}}});
    PluginSection b = sectionWith({{"port", "80", {"b.conf", 9}}, {"host", "x", {"c.conf", 1}}});
    b.enabled = false;
    b.dependencies = {"db"};
    b.stopTimeout = 1s;
    EXPECT_TRUE(a.sameSettings(b));
    EXPECT_TRUE(b.sameSettings(a));
}

TEST(PluginSection, SameSettingsDetectsAChangedValue) {
    PluginSection a = sectionWith({{"port", "80", {}}, {"host", "x", {}}});
    PluginSection b = sectionWith({{"port", "81", {}}, {"host", "x", {}}});
    EXPECT_FALSE(a.sameSettings(b));
}

TEST(PluginSection, SameSettingsDetectsAnAddedOrRemovedKey) {
    PluginSection a = sectionWith({{"port", "80", {}}});
    PluginSection b = sectionWith({{"port", "80", {}}, {"host", "x", {}}});
    PluginSection none = sectionWith({});
    EXPECT_FALSE(a.sameSettings(b));
    EXPECT_FALSE(b.sameSettings(a));
    EXPECT_FALSE(a.sameSettings(none));
    EXPECT_TRUE(none.sameSettings(sectionWith({})));
}

TEST(PluginSection, SameSettingsDetectsARenamedKey) {
    PluginSection a = sectionWith({{"port", "80", {}}});
    PluginSection b = sectionWith({{"Port", "80", {}}});
    EXPECT_FALSE(a.sameSettings(b));
}

// ==== loadConfig =============================================================================

}  // namespace
