"""The test harness itself: two signed-in clients in one test act as two different people."""


def test_two_clients_are_two_people(world, login):
    a = login(world.procurement)
    b = login(world.sales_a)
    assert world.procurement.name in a.get("/account").get_data(as_text=True)
    page_b = b.get("/account").get_data(as_text=True)
    assert world.sales_a.name in page_b and world.procurement.name not in page_b
