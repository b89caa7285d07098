package barrier

import (
	"context"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// LoseAnswers routes b's lightweight transactions (the takes of branches and the
// ends of runs) through lose, with the branch of each and send, which sends it for
// real and returns the server's answer; the barrier sees what lose returns. An
// error matching orm.ErrUncertain returned after calling send is an answer lost;
// without calling it, a request lost; with send kept and called later (while the
// call that sent it still runs), a request that lands late. Call it before b is
// used.
func LoseAnswers(b *Barrier, lose func(branch string, send func() error) error) {
	patchIf := b.patchIf
	b.patchIf = func(ctx context.Context, branch string, conds []orm.Predicate, changes []orm.Change) error {
		return lose(branch, func() error { return patchIf(ctx, branch, conds, changes) })
	}
}

// FailSettles makes the SERIAL reads that settle b's transactions of unknown
// outcome fail, without being sent, with the error fail returns for their branch
// (nil: the read is sent as usual). State's reads are not affected. Call it before
// b is used.
func FailSettles(b *Barrier, fail func(branch string) error) {
	read := b.readBack
	b.readBack = func(ctx context.Context, branch string) (row, error) {
		if err := fail(branch); err != nil {
			return row{}, err
		}
		return read(ctx, branch)
	}
}
