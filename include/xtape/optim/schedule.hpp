// Learning-rate schedules: the rate for step (or epoch) t = 0, 1, 2, ...
#pragma once

#include <cstdint>

namespace xtape {

/// base_rate * gamma^floor(t / step_size): the rate falls by gamma every
/// step_size steps (PyTorch's StepLR).
class StepSchedule {
public:
    /// Throws ValueError unless base_rate > 0, step_size > 0 and 0 < gamma <= 1.
    StepSchedule(double base_rate, std::int64_t step_size, double gamma = 0.1);
    /// The rate at t; throws ValueError when t < 0.
    double operator()(std::int64_t t) const;

private:
    double base_rate_;
    std::int64_t step_size_;
    double gamma_;
};

/// The options of CosineSchedule.
struct CosineScheduleOptions {
    /// Steps of linear warmup before the cosine; 0 for none.
    std::int64_t warmup = 0;
    /// The rate the cosine ends at (after `total` steps); >= 0.
    double final_rate = 0;
};

/// Linear warmup, then half a cosine: base_rate * (t + 1) / warmup for
/// t < warmup, then final_rate + (base_rate - final_rate) (1 + cos(pi p)) / 2
/// with p = (t - warmup) / (total - warmup), and final_rate from t = total on.
class CosineSchedule {
public:
    /// Throws ValueError unless base_rate > 0, 0 <= warmup < total and
    /// 0 <= final_rate <= base_rate.
    CosineSchedule(double base_rate, std::int64_t total, CosineScheduleOptions options = {});
    /// The rate at t; throws ValueError when t < 0.
    double operator()(std::int64_t t) const;

private:
    double base_rate_;
    std::int64_t total_;
    CosineScheduleOptions options_;
};

}  // namespace xtape
