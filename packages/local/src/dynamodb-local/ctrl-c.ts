/**
 * Runs a command with Ctrl-C's signals ignored: an ignored signal stays ignored across exec, and Java
 * honours it (as it does `nohup`'s). A Ctrl-C reaches the terminal's whole process group; DynamoDB Local
 * and what runs it must outlive it until the stack stops them, in its own order.
 */
export const IGNORING_CTRL_C = ['/bin/sh', '-c', 'trap "" INT QUIT; exec "$0" "$@"'] as const;
