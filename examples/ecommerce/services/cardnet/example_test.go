package cardnet_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
)

func Example() {
	n, err := cardnet.New(cardnet.Config{DeclineRate: 0.1, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(n.Handler())
	defer srv.Close()

	charge := func(key, card string) {
		body := fmt.Sprintf(`{"idempotency_key":%q,"amount_cents":1999,"currency":"EUR","card":%q}`, key, card)
		resp, err := http.Post(srv.URL+"/v1/charges", "application/json", strings.NewReader(body))
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		var c cardnet.Charge
		_ = json.NewDecoder(resp.Body).Decode(&c)
		fmt.Println(resp.StatusCode, strings.TrimSpace(c.Status+" "+c.DeclineCode))
	}
	charge("order-1/pay/do", cardnet.CardApprove)
	charge("order-1/pay/do", cardnet.CardApprove) // a retry: the same answer, no second charge
	charge("order-2/pay/do", cardnet.CardInsufficientFunds)
	s := n.Stats()
	fmt.Println("charges:", s.Charges, "approved cents:", s.ApprovedCents)
	// Output:
	// 201 approved
	// 200 approved
	// 201 declined insufficient_funds
	// charges: 2 approved cents: 1999
}
