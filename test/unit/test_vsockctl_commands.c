/* test_vsockctl_commands.c: vsockctl's command table (cmd/vsockctl/commands.c): lookup,
 * the completion generators the shell uses, per-command argument parsing with its usage
 * reasons, and the splitting of shell lines into words. No transport is opened. */
#include "config.h"

#include <string.h>

#include "commands.h"
#include "tap.h"

/* Collects every candidate a generator yields, space-separated, for one comparison. */
static const char *all_commands(const char *prefix)
{
    static char out[512];
    size_t state = 0;
    const char *name;

    out[0] = '\0';
    while ((name = ctl_complete_command(prefix, &state)) != NULL) {
        if (out[0] != '\0')
            strcat(out, " ");
        strcat(out, name);
    }
    return out;
}

static const char *all_arguments(const char *command, const char *prefix)
{
    static char out[512];
    const struct ctl_command *cmd = ctl_command_find(command);
    size_t state = 0;
    const char *word;

    out[0] = '\0';
    if (cmd == NULL)
        return "(no such command)";
    while ((word = ctl_complete_argument(cmd, prefix, &state)) != NULL) {
        if (out[0] != '\0')
            strcat(out, " ");
        strcat(out, word);
    }
    return out;
}

static void test_table(void)
{
    int complete = 1, unique = 1, plain = 1;

    TAP_IS_INT(ctl_command_count, 12, "the table has 12 commands");
    for (size_t i = 0; i < ctl_command_count; i++) {
        const struct ctl_command *cmd = &ctl_commands[i];

        if (cmd->name == NULL || cmd->args == NULL || cmd->help == NULL || cmd->run == NULL)
            complete = 0;
        else if (strspn(cmd->name, "abcdefghijklmnopqrstuvwxyz-") != strlen(cmd->name))
            plain = 0;
        for (size_t j = 0; j < i; j++)
            if (cmd->name != NULL && ctl_commands[j].name != NULL &&
                strcmp(cmd->name, ctl_commands[j].name) == 0)
                unique = 0;
    }
    tap_ok(complete, "every row has a name, an argument synopsis, a help line and a handler");
    tap_ok(unique, "command names are unique");
    tap_ok(plain, "command names are lower-case words (completion and the man test rely on it)");
}

static void test_lookup(void)
{
    static const char *const names[] = {"cid",     "transport", "info", "help",
                                        "version", "quit",      "exit"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct ctl_command *cmd = ctl_command_find(names[i]);
        TAP_IS_STR(cmd != NULL ? cmd->name : NULL, names[i], "find(\"%s\") returns its row",
                   names[i]);
    }
    tap_ok(ctl_command_find("ci") == NULL, "find does not accept abbreviations (\"ci\")");
    tap_ok(ctl_command_find("CID") == NULL, "find is case-sensitive (\"CID\")");
    tap_ok(ctl_command_find("cid ") == NULL, "find does not trim (\"cid \")");
    tap_ok(ctl_command_find("") == NULL, "find(\"\") is NULL");
    tap_ok(ctl_command_find(NULL) == NULL, "find(NULL) is NULL");
    tap_ok(ctl_command_find("quit")->shell_only && ctl_command_find("exit")->shell_only &&
               !ctl_command_find("cid")->shell_only,
           "quit and exit are shell-only, cid is not");
}

static void test_completion(void)
{
    size_t state = 0;

    TAP_IS_STR(all_commands("ci"), "cid", "\"ci\" completes to cid only");
    TAP_IS_STR(all_commands(""), "cid transport info sockets devices bind unbind uio-check help version quit exit",
               "\"\" yields every command, in table order");
    TAP_IS_STR(all_commands("e"), "exit", "\"e\" completes to exit");
    TAP_IS_STR(all_commands("help"), "help", "a full name completes to itself");
    TAP_IS_STR(all_commands("helpx"), "", "a longer word yields nothing");
    TAP_IS_STR(all_commands("x"), "", "an unknown prefix yields nothing");
    TAP_IS_STR(all_commands("C"), "", "completion is case-sensitive");

    tap_ok(ctl_complete_command("zz", &state) == NULL && ctl_complete_command("zz", &state) == NULL,
           "an exhausted generator keeps returning NULL");

    TAP_IS_STR(all_arguments("info", ""), "--json", "info offers --json");
    TAP_IS_STR(all_arguments("info", "--j"), "--json", "\"--j\" after info completes to --json");
    TAP_IS_STR(all_arguments("info", "x"), "", "info offers nothing for \"x\"");
    TAP_IS_STR(all_arguments("sockets", "--"), "--listening --json",
               "sockets offers --listening and --json");
    TAP_IS_STR(all_arguments("help", "i"), "info", "help completes command names (\"i\")");
    TAP_IS_STR(all_arguments("help", ""), "cid transport info sockets devices bind unbind uio-check help version quit exit",
               "help offers every command");
    TAP_IS_STR(all_arguments("cid", ""), "", "cid takes no arguments, so nothing completes");
    TAP_IS_STR(all_arguments("version", "-"), "", "version offers no options");
}

static void test_parse(void)
{
    const struct ctl_command *info = ctl_command_find("info");
    const struct ctl_command *help = ctl_command_find("help");
    const struct ctl_command *cid = ctl_command_find("cid");
    struct ctl_call call;
    char why[128];

    {
        char *argv[] = {"--json", NULL};
        TAP_IS_INT(ctl_parse_call(info, 1, argv, &call, why, sizeof(why)), CTL_OK,
                   "info --json parses");
        TAP_IS_INT(call.flags, 1, "info --json sets flag bit 0");
        TAP_IS_INT(call.argc, 0, "info --json has no positional arguments");
    }
    {
        char *argv[] = {NULL};
        TAP_IS_INT(ctl_parse_call(info, 0, argv, &call, why, sizeof(why)), CTL_OK,
                   "bare info parses");
        TAP_IS_INT(call.flags, 0, "bare info sets no flag");
    }
    {
        char *argv[] = {"--xml", NULL};
        TAP_IS_INT(ctl_parse_call(info, 1, argv, &call, why, sizeof(why)), CTL_USAGE,
                   "info --xml is a usage error");
        TAP_IS_STR(why, "--xml: unknown option", "info --xml names the option");
    }
    {
        char *argv[] = {"extra", NULL};
        TAP_IS_INT(ctl_parse_call(cid, 1, argv, &call, why, sizeof(why)), CTL_USAGE,
                   "cid extra is a usage error");
        TAP_IS_STR(why, "unexpected argument 'extra'", "cid extra names the argument");
    }
    {
        char *argv[] = {"--json", NULL};
        TAP_IS_INT(ctl_parse_call(cid, 1, argv, &call, why, sizeof(why)), CTL_USAGE,
                   "--json is not an option of cid");
    }
    {
        char *argv[] = {"cid", NULL};
        TAP_IS_INT(ctl_parse_call(help, 1, argv, &call, why, sizeof(why)), CTL_OK,
                   "help cid parses");
        TAP_IS_INT(call.argc, 1, "help cid has one positional argument");
        TAP_IS_STR(call.argv[0], "cid", "help cid's argument is cid");
    }
    {
        char *argv[] = {"cid", "info", NULL};
        TAP_IS_INT(ctl_parse_call(help, 2, argv, &call, why, sizeof(why)), CTL_USAGE,
                   "help with two arguments is a usage error");
        TAP_IS_STR(why, "unexpected argument 'info'", "the second argument is named");
    }
    {
        char *argv[] = {"--help", NULL};
        TAP_IS_INT(ctl_parse_call(cid, 1, argv, &call, why, sizeof(why)), CTL_OK,
                   "cid --help parses");
        TAP_IS_INT(call.want_help, 1, "cid --help asks for the command's usage");
    }
    {
        char *argv[] = {"-h", "--json", NULL};
        TAP_IS_INT(ctl_parse_call(info, 2, argv, &call, why, sizeof(why)), CTL_OK,
                   "info -h --json parses");
        TAP_IS_INT(call.want_help && call.flags == 1, 1, "-h and --json are both recorded");
    }
    {
        char *argv[] = {"-", NULL};
        TAP_IS_INT(ctl_parse_call(cid, 1, argv, &call, why, sizeof(why)), CTL_USAGE,
                   "a lone '-' is an (unexpected) argument, not an option");
        TAP_IS_STR(why, "unexpected argument '-'", "the lone '-' is named as an argument");
    }
}

static void test_split(void)
{
    char *words[4];

    {
        char line[] = "  info\t--json \r\n";
        int n = ctl_split_words(line, words, 4);
        TAP_IS_INT(n, 2, "blanks, tabs and CR LF separate words");
        TAP_IS_STR(n == 2 ? words[0] : NULL, "info", "first word");
        TAP_IS_STR(n == 2 ? words[1] : NULL, "--json", "second word, without the line end");
    }
    {
        char line[] = "   \n";
        TAP_IS_INT(ctl_split_words(line, words, 4), 0, "a blank line has no words");
    }
    {
        char line[] = "# a comment";
        TAP_IS_INT(ctl_split_words(line, words, 4), 0, "a '#' line is a comment");
    }
    {
        char line[] = "cid # trailing";
        TAP_IS_INT(ctl_split_words(line, words, 4), 1, "'#' at a word start ends the line");
    }
    {
        char line[] = "a#b";
        int n = ctl_split_words(line, words, 4);
        TAP_IS_STR(n == 1 ? words[0] : NULL, "a#b", "'#' inside a word is part of it");
    }
    {
        char line[] = "a b c d";
        TAP_IS_INT(ctl_split_words(line, words, 4), 4, "exactly max words fit");
    }
    {
        char line[] = "a b c d e";
        TAP_IS_INT(ctl_split_words(line, words, 4), -1, "more than max words is an error");
    }
}

int main(void)
{
    test_table();
    test_lookup();
    test_completion();
    test_parse();
    test_split();
    return tap_done();
}
