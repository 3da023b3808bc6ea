package com.acme.orders;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

public class OrderLookup {
    private final HikariDataSource pool;

    OrderLookup(HikariDataSource pool) {
        this.pool = pool;
    }

    long countOrders(String customer) throws SQLException {
        try (Connection connection = pool.getConnection();
             PreparedStatement statement = connection.prepareStatement(
                     "SELECT count(*) FROM customer_orders WHERE customer = ?")) {
            statement.setString(1, customer);
            return statement.executeQuery().next() ? 1 : 0;
        }
    }

    public static void main(String[] args) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl("jdbc:postgresql://127.0.0.1:5432/test_scrubbing");
        config.setUsername("postgres");
        config.setMaximumPoolSize(1);
        try (HikariDataSource pool = new HikariDataSource(config)) {
            new OrderLookup(pool).countOrders("c-42");
        } catch (SQLException e) {
            throw new IllegalStateException("order lookup failed", e);
        }
    }
}
