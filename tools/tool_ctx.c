/*
 * tool_ctx.c - what every subcommand of `mailroom` works with: the settings,
 * the journal and the spools of all stages.
 */
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "tool.h"

const char *const tool_stage_names[TOOL_NSTAGES] = {"scan", "classify", "sign", "export", "review"};

int tool_ctx_open(struct tool_ctx *c, const struct tool_opts *o)
{
	conf_err ce;
	char err[1024];
	int i;

	memset(c, 0, sizeof(*c));
	c->opt = o;
	if (settings_load(o->conf_dir, &c->set, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		return EX_CONFIG;
	}
	if ((c->jr = journal_open(c->set.journal_path, err, sizeof(err))) == NULL) {
		log_errorx("journal: %s", err);
		tool_ctx_close(c);
		return EX_IOERR;
	}
	for (i = 0; i < TOOL_NSTAGES; i++) {
		if ((c->sp[i] = spool_open(c->set.spool_dir, tool_stage_names[i])) == NULL) {
			log_error("spool %s/%s", c->set.spool_dir, tool_stage_names[i]);
			tool_ctx_close(c);
			return EX_IOERR;
		}
	}
	return EX_OK;
}

void tool_ctx_close(struct tool_ctx *c)
{
	int i;

	for (i = 0; i < TOOL_NSTAGES; i++)
		c->sp[i] = spool_close(c->sp[i]);
	c->jr = journal_close(c->jr);
	settings_free(&c->set);
}

spool *tool_ctx_spool(const struct tool_ctx *c, const char *stage)
{
	int i;

	for (i = 0; i < TOOL_NSTAGES; i++)
		if (strcmp(tool_stage_names[i], stage) == 0)
			return c->sp[i];
	return NULL;
}
